"""Assertion modifiers (`not`, `weight`, `message`), `not_<name>` forms, case `threshold`, `repeat` min_pass."""

from __future__ import annotations

import pytest

from conftest import PromptProject

# Every third call with the same prompt answers "no": a repeat of 3 gets exactly 2 "yes" and 1 "no",
# whatever order the engine runs the calls in.
FLAKY_APP = """
import collections
import threading

_lock = threading.Lock()
_calls = collections.Counter()


def two_of_three(messages, params):
    key = messages[-1]["content"]
    with _lock:
        _calls[key] += 1
        return "yes" if _calls[key] % 3 else "no"
"""


def test_not_modifier_inverts_each_family(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`not: true` beside an assertion inverts it for text, regex, structure and similarity assertions."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: no-apology
            vars: { reply: "refund issued" }
            assert:
              - contains: sorry
                not: true
              - regex: '\\d'
                not: true
              - is_json:
                not: true
              - fuzzy: "totally different words"
                not: true
          - id: apology
            vars: { reply: "sorry, refund issued" }
            assert:
              - contains: sorry
                not: true
          - id: json
            vars: { reply: '{"a": 1}' }
            assert:
              - is_json:
                not: true
          - id: not-false
            vars: { reply: "sorry" }
            assert:
              - contains: sorry
                not: false
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::no-apology?echo? PASSED*",
            "*::apology?echo? FAILED*",
            "*::json?echo? FAILED*",
            "*::not-false?echo? PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["*✗ not contains 'sorry'*", "*✗ not is_json*"])


def test_not_underscore_forms(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Every built-in has a `not_<name>` form that passes exactly when the plain form fails."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: all-pass
            vars: { reply: '{"category": "billing"}' }
            assert:
              - not_equals: billing
              - not_contains: refund
              - not_icontains: REFUND
              - not_contains_all: [billing, refund]
              - not_contains_any: [refund, sorry]
              - not_starts_with: billing
              - not_regex: '^\\d+$'
              - not_length: { max: 5 }
              - not_json_schema: { type: array }
              - not_json_path: { path: "$.category", equals: account }
              - not_fuzzy: { value: "refund issued", min: 0.9 }
          - id: not-equals-fails
            vars: { reply: "billing" }
            assert: [ { not_equals: billing } ]
          - id: not-icontains-fails
            vars: { reply: "a Refund" }
            assert: [ { not_icontains: REFUND } ]
          - id: not-contains-any-fails
            vars: { reply: "sorry" }
            assert: [ { not_contains_any: [refund, sorry] } ]
          - id: not-is-json-fails
            vars: { reply: "[]" }
            assert: [ not_is_json ]
          - id: not-json-path-fails
            vars: { reply: '{"category": "account"}' }
            assert: [ { not_json_path: { path: "$.category", equals: account } } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=5)
    result.stdout.fnmatch_lines(
        [
            "*::all-pass?echo? PASSED*",
            "*::not-equals-fails?echo? FAILED*",
            "*::not-icontains-fails?echo? FAILED*",
            "*::not-contains-any-fails?echo? FAILED*",
            "*::not-is-json-fails?echo? FAILED*",
            "*::not-json-path-fails?echo? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(["*✗ not_equals 'billing'*", "*expected not 'billing', got 'billing'*"])


def test_double_negation(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`not_contains` with `not: true` means `contains`, and reads as written in the failure."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: present
            vars: { reply: "refund" }
            assert:
              - not_contains: refund
                not: true
          - id: absent
            vars: { reply: "nothing" }
            assert:
              - not_contains: refund
                not: true
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*::present?echo? PASSED*", "*::absent?echo? FAILED*", "*✗ not not_contains 'refund'*"]
    )


def test_weight_and_threshold(pytester: pytest.Pytester, project: PromptProject) -> None:
    """With `threshold`, the weighted mean of scores decides; partial scores (contains_all) count."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        defaults:
          vars: { reply: "refund billing" }
        cases:
          - id: heavy-pass
            threshold: 0.75
            assert:
              - contains: refund
                weight: 3
              - contains: sorry
          - id: heavy-fail
            threshold: 0.5
            assert:
              - contains: refund
              - contains: sorry
                weight: 3
          - id: exact-threshold
            threshold: 0.5
            assert:
              - contains: refund
              - contains: sorry
          - id: partial-score
            threshold: 0.6
            assert: [ { contains_all: [refund, billing, sorry] } ]
          - id: partial-score-short
            threshold: 0.7
            assert: [ { contains_all: [refund, billing, sorry] } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::heavy-pass?echo? PASSED*",
            "*::heavy-fail?echo? FAILED*",
            "*::exact-threshold?echo? PASSED*",
            "*::partial-score?echo? PASSED*",
            "*::partial-score-short?echo? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(["*score 0.25 < threshold 0.50*", "*score 0.67 < threshold 0.70*"])


def test_without_threshold_every_weighted_assertion_must_pass(
    pytester: pytest.Pytester, project: PromptProject
) -> None:
    """Without `threshold`, any failing assertion fails the case, except one with `weight: 0`."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: light-but-failing
            vars: { reply: "refund" }
            assert:
              - contains: refund
                weight: 10
              - contains: sorry
                weight: 0.1
          - id: zero-weight
            vars: { reply: "refund" }
            assert:
              - contains: refund
              - contains: sorry
                weight: 0
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*::light-but-failing?echo? FAILED*", "*::zero-weight?echo? PASSED*"])


def test_message_is_shown_with_the_failed_assertion(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`message:` is printed beside the assertion it belongs to."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: c
            vars: { reply: "no" }
            assert:
              - contains: refund
                message: "the reply must mention the refund"
              - equals: "no"
                message: "this one passes"
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*✗ contains 'refund'  — the reply must mention the refund",
            "*✓ equals 'no'  — this one passes",
        ]
    )


def test_repeat_min_pass(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`repeat: {n, min_pass}` passes when the share of passing calls reaches min_pass; plain `repeat` needs all."""
    pytester.makepyfile(flaky=FLAKY_APP)
    project.config(models={"flaky": "flaky:two_of_three"})
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: enough
            vars: { reply: "a" }
            repeat: { n: 3, min_pass: 0.6 }
            assert: [ { equals: "yes" } ]
          - id: not-enough
            vars: { reply: "b" }
            repeat: { n: 3, min_pass: 0.9 }
            assert: [ { equals: "yes" } ]
          - id: all-needed
            vars: { reply: "c" }
            repeat: 3
            assert: [ { equals: "yes" } ]
          - id: exact-share
            vars: { reply: "d" }
            repeat: { n: 3, min_pass: 0.6666666666666666 }
            assert: [ { equals: "yes" } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::enough?flaky? PASSED*",
            "*::not-enough?flaky? FAILED*",
            "*::all-needed?flaky? FAILED*",
            "*::exact-share?flaky? PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["*2/3 calls passed; min_pass 0.9 needs 3*", "*1 of 3 calls failed*"])


def test_bad_modifiers_are_collection_errors(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A non-boolean `not` or a negative `weight` is a collection error at the modifier's own line."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: bad
            vars: { reply: "x" }
            assert:
              - contains: a
                not: "yes"
              - contains: b
                weight: -1
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*test_suite.prompts.yaml:8: *not must be true or false, got text 'yes'*",
            "*test_suite.prompts.yaml:10: *weight must be at least 0, got -1*",
        ]
    )


def test_bad_assertion_names_are_collection_errors(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Two names in one entry, or a misspelt `not_` name (with a suggestion), are errors at their lines."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: bad
            vars: { reply: "x" }
            assert:
              - contains: c
                equals: d
              - weight: 2
    """
    )
    project.suite(
        "test_typo",
        """
        prompts:
          p: "{{ reply }}"
        cases:
          - id: typo
            vars: { reply: "x" }
            assert: [ { not_contans: e } ]
    """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*test_suite.prompts.yaml:7: *several assertion names ('contains', 'equals')*",
            "*test_suite.prompts.yaml:9: *assertion has no assertion name*",
            "*test_typo.prompts.yaml:6: *unknown assertion 'not_contans'; did you mean 'not_contains'*",
        ]
    )
