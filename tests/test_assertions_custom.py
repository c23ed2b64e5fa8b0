"""Custom assertions: `python: module:function` checks and assertions registered through the plugin hook."""

from __future__ import annotations

import pytest

from conftest import PromptProject

CHECKS = """
from pytest_promptcheck import Outcome


def polite(output, context):
    return "please" in output.lower()


def score(output, context):
    return len(output) / 10


def with_reason(output, context):
    return {"pass": output.endswith("!"), "score": 0.3, "reason": f"no exclamation in {output!r}"}


def outcome(output, context):
    return Outcome(False, 0.0, "custom outcome says no", "a haiku", output)


def sees_context(output, context):
    return output == context.vars["reply"] and context.case.id == "context" and context.model.name == "echo"


async def async_polite(output, context):
    return "please" in output


def returns_none(output, context):
    pass


def out_of_range(output, context):
    return 1.5


class Checks:
    @staticmethod
    def shouty(output, context):
        return output.isupper()
"""


def test_python_check_return_types(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A `python:` check may return bool, a 0-1 score (>= 0.5 passes), a dict with reason, or an Outcome."""
    pytester.makepyfile(checks=CHECKS)
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: bool-pass
            vars: { reply: "Please wait" }
            assert: [ { python: "checks:polite" } ]
          - id: bool-fail
            vars: { reply: "wait" }
            assert: [ { python: "checks:polite" } ]
          - id: score-pass
            vars: { reply: "12345" }
            assert: [ { python: "checks:score" } ]
          - id: score-fail
            vars: { reply: "1234" }
            assert: [ { python: "checks:score" } ]
          - id: dict-fail
            vars: { reply: "calm" }
            assert: [ { python: "checks:with_reason" } ]
          - id: dict-pass
            vars: { reply: "wow!" }
            assert: [ { python: "checks:with_reason" } ]
          - id: outcome-fail
            vars: { reply: "prose" }
            assert: [ { python: "checks:outcome" } ]
          - id: context
            vars: { reply: "hi" }
            assert: [ { python: "checks:sees_context" } ]
          - id: async
            vars: { reply: "please" }
            assert: [ { python: "checks:async_polite" } ]
          - id: method
            vars: { reply: "LOUD" }
            assert: [ { python: "checks:Checks.shouty" } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=6, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*::bool-pass?echo? PASSED*",
            "*::bool-fail?echo? FAILED*",
            "*::score-pass?echo? PASSED*",
            "*::score-fail?echo? FAILED*",
            "*::dict-fail?echo? FAILED*",
            "*::dict-pass?echo? PASSED*",
            "*::outcome-fail?echo? FAILED*",
            "*::context?echo? PASSED*",
            "*::async?echo? PASSED*",
            "*::method?echo? PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*✗ python 'checks:score'*",
            "*score 0.40*",
            "*no exclamation in 'calm'*",
            "*expected 'a haiku', got 'prose'*",
            "*(custom outcome says no)*",
        ]
    )


def test_python_check_bad_return_value(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A check returning None or a score outside 0-1 fails the item with a message naming the check."""
    pytester.makepyfile(checks=CHECKS)
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: none
            vars: { reply: "x" }
            assert: [ { python: "checks:returns_none" } ]
          - id: range
            vars: { reply: "x" }
            assert: [ { python: "checks:out_of_range" } ]
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)  # a check returning nonsense is a bug: an error
    result.stdout.fnmatch_lines(
        [
            "*TypeError: assertion `python 'checks:returns_none'` returned NoneType; return bool, a score in *",
            "*ValueError: assertion `python 'checks:out_of_range'` returned score 1.5; scores are numbers between 0 and 1*",
        ]
    )


def test_assertion_registered_through_the_hook(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A conftest's `pytest_promptcheck_register_assertions` adds a name, its `not_` form, and its argument check."""
    pytester.makeconftest("""
        from pytest_promptcheck import BadArgument

        def _prepare(arg, context):
            if not isinstance(arg, int):
                raise BadArgument(f"`max_words` needs a number, got {arg!r}; e.g. `- max_words: 20`")
            return arg

        def max_words(output, limit, context):
            return len(output.split()) <= limit

        def pytest_promptcheck_register_assertions(registry):
            registry.register("max_words", max_words, prepare=_prepare)
    """)
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: short
            vars: { reply: "two words" }
            assert: [ { max_words: 2 } ]
          - id: long
            vars: { reply: "three words here" }
            assert: [ { max_words: 2 } ]
          - id: negated
            vars: { reply: "three words here" }
            assert: [ { not_max_words: 2 } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*::short?echo? PASSED*", "*::long?echo? FAILED*", "*::negated?echo? PASSED*"])

    project.suite(
        "test_bad",
        """
        prompts:
          p: "{{ reply }}"
        cases:
          - id: bad
            vars: { reply: "x" }
            assert: [ { max_words: lots } ]
    """,
    )
    result = pytester.runpytest("test_bad.prompts.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_bad.prompts.yaml:6: *`max_words` needs a number, got 'lots'; e.g. *"])


def test_bad_python_arguments_are_collection_errors(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A `python:` reference that is malformed, unimportable, missing or not callable is a collection error."""
    pytester.makepyfile(checks=CHECKS + "\nNOT_CALLABLE = 3\n")
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: bad
            vars: { reply: "x" }
            assert:
              - python: checks.polite
              - python: no_such_module:check
              - python: "checks:missing"
              - python: "checks:NOT_CALLABLE"
              - python: { function: "checks:polite" }
              - python:
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*6 problem(s) in this suite*",
            "*test_suite.prompts.yaml:7: *'checks.polite' is not `module:function` (e.g. myapp.llm:generate)*",
            "*test_suite.prompts.yaml:8: *cannot import module 'no_such_module'*",
            "*test_suite.prompts.yaml:9: *module 'checks' has no attribute 'missing'*",
            "*test_suite.prompts.yaml:10: *'checks:NOT_CALLABLE' is not callable*",
            "*test_suite.prompts.yaml:11: *`python` needs `module:function`, got {'function': 'checks:polite'}*",
            "*test_suite.prompts.yaml:12: *`python` needs an argument; e.g. `- python: checks:is_polite`*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
