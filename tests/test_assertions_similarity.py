"""Similarity assertions: fuzzy (rapidfuzz, 0-1 scores) and snapshot (stored outputs)."""

from __future__ import annotations

import textwrap

import pytest

from conftest import PromptProject


def write_snapshots(pytester: pytest.Pytester, folder: str, suite: str, body: str) -> None:
    """``<folder>/__snapshots__/<suite>.snap.yaml`` with ``body`` (a YAML mapping item id -> output)."""
    target = pytester.path / folder / "__snapshots__"
    target.mkdir(parents=True, exist_ok=True)
    (target / f"{suite}.snap.yaml").write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")


def test_fuzzy_ratio_and_methods(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`fuzzy` passes near matches at the default min 0.8, fails far ones, and honours `min` and `method`."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: typo
            vars: { reply: "your refund has been issued" }
            assert: [ { fuzzy: "your refund has been isued" } ]
          - id: different
            vars: { reply: "please contact support" }
            assert: [ { fuzzy: "your refund has been issued" } ]
          - id: strict-min
            vars: { reply: "your refund has been issued" }
            assert: [ { fuzzy: { value: "your refund was issued", min: 0.99 } } ]
          - id: reordered-ratio
            vars: { reply: "issued refund your" }
            assert: [ { fuzzy: { value: "your refund issued", min: 0.9 } } ]
          - id: reordered-token-set
            vars: { reply: "issued refund your" }
            assert: [ { fuzzy: { value: "your refund issued", min: 0.9, method: token_set } } ]
          - id: partial
            vars: { reply: "Hello! Your refund has been issued. Bye." }
            assert: [ { fuzzy: { value: "your refund has been issued", min: 0.9, method: partial_ratio } } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*::typo?echo? PASSED*",
            "*::different?echo? FAILED*",
            "*::strict-min?echo? FAILED*",
            "*::reordered-ratio?echo? FAILED*",
            "*::reordered-token-set?echo? PASSED*",
            "*::partial?echo? PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["*ratio 0.* < min 0.80*", "*ratio 0.* < min 0.99*"])


def test_fuzzy_score_is_on_a_zero_to_one_scale(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A fuzzy ratio of 75 becomes score 0.75: it passes min 0.5 yet misses a case threshold of 0.8."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: three-of-four
            threshold: 0.8
            vars: { reply: "abce" }
            assert: [ { fuzzy: { value: "abcd", min: 0.5 } } ]
          - id: exact
            threshold: 1.0
            vars: { reply: "abcd" }
            assert: [ { fuzzy: { value: "abcd", min: 1.0 } } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*::three-of-four?echo? FAILED*",
            "*::exact?echo? PASSED*",
            "*score 0.75 < threshold 0.80*",
            "*✓ fuzzy*[[]weight 1, score 0.75]*",
        ]
    )


def test_snapshot_exact_and_fuzzy(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`snapshot` compares to the stored output by item id (or fuzzily); a missing one fails, negated or not."""
    write_snapshots(
        pytester,
        ".",
        "test_suite",
        """
        "test_suite.prompts.yaml::same[echo]": "refund issued"
        "test_suite.prompts.yaml::changed[echo]": "refund issued\\nthanks"
        "test_suite.prompts.yaml::close[echo]": "your refund has been issued"
        "test_suite.prompts.yaml::far[echo]": "your refund has been issued"
        """,
    )
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: same
            vars: { reply: "  refund issued\\n" }
            assert: [ snapshot ]
          - id: changed
            vars: { reply: "refund denied\\nthanks" }
            assert: [ snapshot ]
          - id: close
            vars: { reply: "your refund has been isued" }
            assert: [ { snapshot: { min: 0.9 } } ]
          - id: far
            vars: { reply: "no refund" }
            assert: [ { snapshot: { min: 0.9 } } ]
          - id: unrecorded
            vars: { reply: "anything" }
            assert: [ snapshot ]
          - id: unrecorded-negated
            vars: { reply: "anything" }
            assert: [ not_snapshot ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*::same?echo? PASSED*",
            "*::changed?echo? FAILED*",
            "*::close?echo? PASSED*",
            "*::far?echo? FAILED*",
            "*::unrecorded?echo? FAILED*",
            "*::unrecorded-negated?echo? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(["*output differs from the snapshot*", "*-refund issued*", "*+refund denied*"])
    result.stdout.fnmatch_lines(["*similarity 0.* vs min 0.90*"])
    result.stdout.fnmatch_lines(
        ["*no snapshot stored for 'test_suite.prompts.yaml::unrecorded?echo?' in *__snapshots__*test_suite.snap.yaml*"]
    )


def test_snapshot_keys_for_nested_suites_and_repeats(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A nested suite reads <its dir>/__snapshots__/<name>.snap.yaml; repeated calls are keyed `<id>#<sample>`."""
    write_snapshots(
        pytester,
        "sub",
        "test_nested",
        """
        "sub/test_nested.prompts.yaml::one[echo]": "hello"
        "sub/test_nested.prompts.yaml::rep[echo]#0": "again"
        "sub/test_nested.prompts.yaml::rep[echo]#1": "again"
        "sub/test_nested.prompts.yaml::half[echo]#0": "again"
        """,
    )
    project.suite(
        "sub/test_nested",
        """
        prompts:
          p: "{{ reply }}"
        cases:
          - id: one
            vars: { reply: "hello" }
            assert: [ snapshot ]
          - id: rep
            repeat: 2
            vars: { reply: "again" }
            assert: [ snapshot ]
          - id: half
            repeat: 2
            vars: { reply: "again" }
            assert: [ snapshot ]
        """,
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*::one?echo? PASSED*",
            "*::rep?echo? PASSED*",
            "*::half?echo? FAILED*",
            "*no snapshot stored for 'sub/test_nested.prompts.yaml::half?echo?#1'*",
        ]
    )


def test_bad_similarity_arguments_are_collection_errors(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Invalid fuzzy/snapshot arguments are collection errors at their own lines with a hint."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: bad
            vars: { reply: "x" }
            assert:
              - fuzzy: [a, b]
              - fuzzy: { min: 0.5 }
              - fuzzy: { value: x, min: 90 }
              - fuzzy: { value: x, method: levenshtein }
              - fuzzy: { value: x, method: 5 }
              - fuzzy: { value: x, threshold: 0.5 }
              - snapshot: { min: 2 }
              - snapshot: true
              - snapshot: { min: true }
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*9 problem(s) in this suite*",
            "*test_suite.prompts.yaml:7: *`fuzzy` needs a text or {value, min, method}*e.g. `- fuzzy: {value: *",
            "*test_suite.prompts.yaml:8: *`fuzzy` needs a text or {value, min, method}*",
            "*test_suite.prompts.yaml:9: *`fuzzy` min is a score between 0 and 1 (rapidfuzz ratio / 100), got 90*",
            "*test_suite.prompts.yaml:10: *`fuzzy` method must be one of ratio, partial_ratio, token_set_ratio*",
            "*test_suite.prompts.yaml:11: *`fuzzy` method must be one of*got 5*",
            "*test_suite.prompts.yaml:12: *`fuzzy` has unknown key(s) [[]'threshold']*",
            "*test_suite.prompts.yaml:13: *`snapshot` takes no argument, or {min: 0.9}*got {'min': 2}*",
            "*test_suite.prompts.yaml:14: *`snapshot` takes no argument*got True*",
            "*test_suite.prompts.yaml:15: *`snapshot` takes no argument*got {'min': True}*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
