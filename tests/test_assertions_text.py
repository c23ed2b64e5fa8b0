"""Text assertions: equals, contains, icontains, contains_all, contains_any, starts_with, regex, length."""

from __future__ import annotations

import pytest

from conftest import PromptProject


def test_equals(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`equals` ignores surrounding whitespace, compares numbers as text, and fails on any other difference."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: same
            vars: { reply: "  refund issued\\n" }
            assert: [ { equals: "refund issued" } ]
          - id: number
            vars: { reply: "42" }
            assert: [ { equals: 42 } ]
          - id: inner-space
            vars: { reply: "refund  issued" }
            assert: [ { equals: "refund issued" } ]
          - id: case
            vars: { reply: "Refund issued" }
            assert: [ { equals: "refund issued" } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::same?echo? PASSED*",
            "*::number?echo? PASSED*",
            "*::inner-space?echo? FAILED*",
            "*::case?echo? FAILED*",
        ]
    )


def test_contains_is_case_sensitive(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`contains` finds a substring anywhere but respects case."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: middle
            vars: { reply: "we issued a refund today" }
            assert: [ { contains: refund } ]
          - id: upper
            vars: { reply: "REFUND" }
            assert: [ { contains: refund } ]
          - id: absent
            vars: { reply: "no money back" }
            assert: [ { contains: refund } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*::middle?echo? PASSED*", "*::upper?echo? FAILED*", "*::absent?echo? FAILED*"])
    result.stdout.fnmatch_lines(["*'refund' not found*"])


def test_icontains_ignores_case(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`icontains` matches regardless of case (including non-ASCII case folding) and fails when absent."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: upper
            vars: { reply: "YOUR REFUND IS ON ITS WAY" }
            assert: [ { icontains: Refund } ]
          - id: fold
            vars: { reply: "STRASSE" }
            assert: [ { icontains: straße } ]
          - id: absent
            vars: { reply: "no money back" }
            assert: [ { icontains: refund } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*::upper?echo? PASSED*", "*::fold?echo? PASSED*", "*::absent?echo? FAILED*"])
    result.stdout.fnmatch_lines(["*'refund' not found (ignoring case)*"])


def test_contains_all_names_the_missing_items(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`contains_all` needs every item; the failure lists exactly the missing ones."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: all
            vars: { reply: "refund for billing error" }
            assert: [ { contains_all: [refund, billing] } ]
          - id: one-missing
            vars: { reply: "refund for shipping error" }
            assert: [ { contains_all: [refund, billing, error] } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*::all?echo? PASSED*", "*::one-missing?echo? FAILED*", "*missing [[]'billing']*"])


def test_contains_any(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`contains_any` passes when one item is present and fails when none are."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: second
            vars: { reply: "a billing issue" }
            assert: [ { contains_any: [refund, billing] } ]
          - id: none
            vars: { reply: "a shipping issue" }
            assert: [ { contains_any: [refund, billing] } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*::second?echo? PASSED*", "*::none?echo? FAILED*", "*none of [[]'refund', 'billing'] found*"]
    )


def test_starts_with(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`starts_with` skips leading whitespace and fails when the prefix is elsewhere in the output."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: leading-space
            vars: { reply: "   Dear customer, thanks" }
            assert: [ { starts_with: Dear } ]
          - id: later
            vars: { reply: "Hello. Dear customer" }
            assert: [ { starts_with: Dear } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*::leading-space?echo? PASSED*",
            "*::later?echo? FAILED*",
            "*expected 'Dear', got 'Hello. Dear customer'*",
        ]
    )


def test_regex_searches_anywhere(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`regex` searches the whole output (not only its start) and reports the pattern when nothing matches."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: inside
            vars: { reply: "your ticket is TK-1234, thanks" }
            assert: [ { regex: 'TK-\\d{4}' } ]
          - id: anchored
            vars: { reply: "line one\\nTK-1" }
            assert: [ { regex: '(?m)^TK-\\d$' } ]
          - id: no-match
            vars: { reply: "your ticket is TK-12" }
            assert: [ { regex: 'TK-\\d{4}' } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*::inside?echo? PASSED*",
            "*::anchored?echo? PASSED*",
            "*::no-match?echo? FAILED*",
            "*no match for /TK-\\d{4}/*",
        ]
    )


def test_length_in_chars_and_tokens(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`length` bounds chars by default (a bare number is the max) and words/tokens with `unit: tokens`."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: short-enough
            vars: { reply: "12345" }
            assert: [ { length: 5 } ]
          - id: too-long
            vars: { reply: "123456" }
            assert: [ { length: 5 } ]
          - id: too-short
            vars: { reply: "abc" }
            assert: [ { length: { min: 4, max: 10 } } ]
          - id: tokens-ok
            vars: { reply: "one two three" }
            assert: [ { length: { max: 3, unit: tokens } } ]
          - id: tokens-over
            vars: { reply: "one two three four" }
            assert: [ { length: { max: 3, unit: tokens } } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*::short-enough?echo? PASSED*",
            "*::too-long?echo? FAILED*",
            "*::too-short?echo? FAILED*",
            "*::tokens-ok?echo? PASSED*",
            "*::tokens-over?echo? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(["*6 chars not in 0..5*", "*3 chars not in 4..10*", "*4 tokens not in 0..3*"])


def test_length_tokens_uses_reported_usage(pytester: pytest.Pytester, project: PromptProject) -> None:
    """With `unit: tokens`, the provider's reported output token count is used when there is one."""
    pytester.makepyfile(
        usage_app="""
        def ten_tokens(messages, params):
            return {"output": messages[-1]["content"], "usage": {"input_tokens": 1, "output_tokens": 10}}
        """
    )
    project.config(models={"tenner": "usage_app:ten_tokens"})
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: two-words
            vars: { reply: "two words" }
            assert: [ { length: { max: 5, unit: tokens } } ]
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*10 tokens not in 0..5*"])


def test_bad_text_arguments_are_collection_errors(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Every invalid text-assertion argument is reported at its own file:line with a hint, before any call."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: bad
            vars: { reply: "x" }
            assert:
              - equals: [a, b]
              - contains:
              - icontains: true
              - contains_all: refund
              - contains_any: []
              - contains_all: [refund, { a: 1 }]
              - starts_with: { a: 1 }
              - regex: "(unclosed"
              - length: { max: -1 }
              - length: { max: 3, unit: words }
              - length: { min: 5, max: 2 }
              - length: { between: 3 }
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        [
            "*12 problem(s) in this suite*",
            "*test_suite.prompts.yaml:7: [[]case 'bad'] `equals` needs a text argument, got list*e.g. `- equals: refund`",
            "*test_suite.prompts.yaml:8: *`contains` needs an argument; e.g. `- contains: refund`*",
            "*test_suite.prompts.yaml:9: *`icontains` needs a text argument, got bool True*",
            "*test_suite.prompts.yaml:10: *`contains_all` needs a non-empty list of texts, got 'refund'*",
            "*test_suite.prompts.yaml:11: *`contains_any` needs a non-empty list of texts, got [[]]*",
            "*test_suite.prompts.yaml:12: *`contains_all` needs a non-empty list of texts*",
            "*test_suite.prompts.yaml:13: *`starts_with` needs a text argument*",
            "*test_suite.prompts.yaml:14: *`regex` '(unclosed' is not a valid regular expression*",
            "*test_suite.prompts.yaml:15: *`length` max must be a non-negative integer, got -1*",
            "*test_suite.prompts.yaml:16: *`length` unit must be 'chars' or 'tokens', got 'words'*",
            "*test_suite.prompts.yaml:17: *`length` min 5 is greater than max 2*",
            "*test_suite.prompts.yaml:18: *`length` needs {min, max, unit}*e.g. `- length: {max: 200, unit: chars}`*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
