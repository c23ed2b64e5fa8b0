"""Operational assertions: latency_ms, tokens, finish_reason, cost."""

from __future__ import annotations

import pytest

from conftest import PromptProject

# `timed` reports the latency a case asks for (params.latency), so latency checks are deterministic.
TIMED_APP = """
def timed(messages, params):
    return {"output": messages[-1]["content"], "latency_ms": float(params["latency"])}
"""

PRICED_PYPROJECT = """
[tool.promptcheck]
models = ["usage", "echo", "free"]

[tool.promptcheck.model.usage]
provider = "python"
function = "app:with_usage"
price = { input_per_mtok = 1.0, output_per_mtok = 2.0 }

[tool.promptcheck.model.echo]
provider = "python"
function = "app:echo"
price = { input_per_mtok = 1.0, output_per_mtok = 2.0 }

[tool.promptcheck.model.free]
provider = "python"
function = "app:with_usage"
"""


def test_latency_ms(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`latency_ms` bounds the call's latency: a bare number is the max, `{min, max}` a range."""
    pytester.makepyfile(timed_app=TIMED_APP)
    project.config(models={"timed": "timed_app:timed"})
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        defaults:
          vars: { reply: "ok" }
        cases:
          - id: fast
            params: { latency: 120 }
            assert: [ { latency_ms: 2000 } ]
          - id: slow
            params: { latency: 2500 }
            assert: [ { latency_ms: 2000 } ]
          - id: in-range
            params: { latency: 150 }
            assert: [ { latency_ms: { min: 100, max: 200 } } ]
          - id: too-fast
            params: { latency: 50 }
            assert: [ { latency_ms: { min: 100, max: 200 } } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::fast?timed? PASSED*",
            "*::slow?timed? FAILED*",
            "*::in-range?timed? PASSED*",
            "*::too-fast?timed? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(["*2500 ms is not <= 2000*", "*50 ms is not >= 100 and <= 200*"])


def test_latency_measured_by_the_engine(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Without a reported latency the engine's measurement is checked (a real call takes > 0 ms, < 60 s)."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: measured
            vars: { reply: "ok" }
            assert: [ { latency_ms: { min: 0, max: 60000 } } ]
          - id: impossible
            vars: { reply: "ok" }
            assert: [ { latency_ms: { min: 60000 } } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*::measured?echo? PASSED*", "*::impossible?echo? FAILED*", "* ms is not >= 60000*"])


def test_tokens(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`tokens` bounds output tokens by default, or input/total with `kind`, from the reported usage."""
    project.config(models={"usage": "app:with_usage"})
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        defaults:
          vars: { reply: "one two three" }
        cases:
          - id: output-ok
            assert: [ { tokens: 3 } ]
          - id: output-over
            assert: [ { tokens: { max: 2 } } ]
          - id: input-exact
            assert: [ { tokens: { min: 100, max: 100, kind: input } } ]
          - id: total-over
            assert: [ { tokens: { max: 102, kind: total } } ]
          - id: total-ok
            assert: [ { tokens: { min: 103, max: 103, kind: total } } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::output-ok?usage? PASSED*",
            "*::output-over?usage? FAILED*",
            "*::input-exact?usage? PASSED*",
            "*::total-over?usage? FAILED*",
            "*::total-ok?usage? PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["*3 tokens is not <= 2*", "*103 tokens is not <= 102*"])


def test_tokens_unknown_fails_even_when_negated(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A model that reports no usage fails `tokens` and `not_tokens` alike: unknown is not a pass."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        defaults:
          vars: { reply: "one two" }
        cases:
          - id: plain
            assert: [ { tokens: 10 } ]
          - id: negated
            assert: [ { not_tokens: 10 } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::plain?echo? FAILED*",
            "*::negated?echo? FAILED*",
            "*output tokens unknown for this call (the provider reported no token usage)*",
        ]
    )


def test_finish_reason(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`finish_reason` accepts one reason or a list, and fails on any other reason the model reports."""
    project.config(models={"usage": "app:with_usage"})
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        defaults:
          vars: { reply: "ok" }
        cases:
          - id: stop
            assert: [ { finish_reason: stop } ]
          - id: truncated
            params: { finish_reason: length }
            assert: [ { finish_reason: stop } ]
          - id: either
            params: { finish_reason: length }
            assert: [ { finish_reason: [stop, length] } ]
          - id: not-truncated
            params: { finish_reason: length }
            assert: [ { not_finish_reason: length } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::stop?usage? PASSED*",
            "*::truncated?usage? FAILED*",
            "*::either?usage? PASSED*",
            "*::not-truncated?usage? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(["*expected [[]'stop'], got 'length'*"])


def test_cost(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`cost` is priced per million tokens: 100 in x $1 + 3 out x $2 = $0.000106; unknown cost fails."""
    pytester.makepyprojecttoml(PRICED_PYPROJECT)
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        defaults:
          vars: { reply: "one two three" }
        cases:
          - id: under
            models: [usage]
            assert: [ { cost: 0.00011 } ]
          - id: over
            models: [usage]
            assert: [ { cost: { max: 0.0001 } } ]
          - id: at-least
            models: [usage]
            assert: [ { cost: { min: 0.000106, max: 0.000107 } } ]
          - id: no-usage
            models: [echo]
            assert: [ { cost: 1 } ]
          - id: no-price
            models: [free]
            assert: [ { cost: 1 } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*::under?usage? PASSED*",
            "*::over?usage? FAILED*",
            "*::at-least?usage? PASSED*",
            "*::no-usage?echo? FAILED*",
            "*::no-price?free? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*0.000106 USD is not <= 0.0001*",
            "*cost unknown for this call (the provider reported no token usage)*",
            "*cost unknown for this call (model 'free' has no `price`)*",
        ]
    )


def test_bad_operational_arguments_are_collection_errors(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Invalid latency_ms/tokens/finish_reason/cost arguments are collection errors at their lines with a hint."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: bad
            vars: { reply: "x" }
            assert:
              - latency_ms: fast
              - latency_ms: -5
              - latency_ms: { max: 10, p95: 3 }
              - latency_ms: { min: 500, max: 100 }
              - tokens: { max: 10, kind: words }
              - tokens: true
              - finish_reason: []
              - finish_reason: [stop, 1]
              - finish_reason: { reason: stop }
              - cost: cheap
              - cost: { max: -0.5 }
              - cost:
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*12 problem(s) in this suite*",
            "*test_suite.prompts.yaml:7: *`latency_ms` needs a maximum or {min, max}, got 'fast'; e.g. `- latency_ms: *",
            "*test_suite.prompts.yaml:8: *`latency_ms` max must be a non-negative number, got -5*",
            "*test_suite.prompts.yaml:9: *`latency_ms` needs a maximum or {min, max}*",
            "*test_suite.prompts.yaml:10: *`latency_ms` min 500 is greater than max 100*",
            "*test_suite.prompts.yaml:11: *`tokens` kind must be input, output or total, got 'words'*",
            "*test_suite.prompts.yaml:12: *`tokens` needs a maximum or {min, max, kind}, got True*",
            "*test_suite.prompts.yaml:13: *`finish_reason` needs a reason or a list of them, got [[]]*",
            "*test_suite.prompts.yaml:14: *`finish_reason` needs a reason or a list of them*",
            "*test_suite.prompts.yaml:15: *`finish_reason` needs a reason or a list of them*e.g. `- finish_reason: stop`*",
            "*test_suite.prompts.yaml:16: *`cost` needs a maximum or {min, max}, got 'cheap'*",
            "*test_suite.prompts.yaml:17: *`cost` max must be a non-negative number, got -0.5*",
            "*test_suite.prompts.yaml:18: *`cost` needs an argument; e.g. `- cost: {max: 0.01}`*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
