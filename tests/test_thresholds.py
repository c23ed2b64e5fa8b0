"""Suite `metrics:` thresholds (SPEC §6): one clear line per breach, and the session fails."""

from __future__ import annotations

import pytest

from conftest import PromptProject
from pair_project import SAME_AND_SLOW, setup_pair_project


def test_breach_fails_an_otherwise_green_session(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Every item passes, but p95 latency is over the bound: exit 1 with suite, model, metric, value, bound."""
    project.config({"m": "app:with_usage"})
    project.suite(
        body="""
        prompts: {p: "{{ x }}"}
        cases: [{id: a, vars: {x: hi}}, {id: b, vars: {x: there}}]
        metrics:
          latency: {p95_ms: 0.001}
          tokens: {max: 1000}
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "suite metric thresholds",
        "  BROKEN test_suite.prompts.yaml: model m: latency = * ms > p95_ms 0 ms",
    ])  # fmt: skip
    assert "tokens" not in "\n".join(line for line in result.stdout.lines if "BROKEN" in line)


def test_by_tags_checks_every_tag(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`by: tags` bounds each tag's pass rate as well as the suite's."""
    project.suite(
        body="""
        prompts: {p: "{{ x }}"}
        defaults: {assert: [{equals: ok}]}
        cases:
          - {id: a, vars: {x: ok}, tags: [billing]}
          - {id: b, vars: {x: no}, tags: [billing]}
          - {id: c, vars: {x: ok}, tags: [shipping]}
        metrics:
          accuracy: {min: 0.6, by: tags}
    """
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["  BROKEN test_suite.prompts.yaml: model echo: accuracy[[]tag billing[]] = 0.500 < min 0.600"]
    )
    assert result.stdout.str().count("BROKEN") == 1  # the suite (0.667) and shipping (1.0) meet it


def test_candidate_only_unless_models_listed(pytester: pytest.Pytester) -> None:
    """With a candidate configured only it is bound; `models: [...]` names others explicitly."""
    setup_pair_project(pytester, SAME_AND_SLOW, metrics="metrics:\n  latency: {max_ms: 15}\n")
    result = pytester.runpytest()  # base answers in 10 ms, tuned in 20 ms
    result.stdout.fnmatch_lines(["  BROKEN test_pairs.prompts.yaml: model tuned: latency = 20 ms > max_ms 15 ms"])
    assert "model base: latency" not in result.stdout.str()
    setup_pair_project(pytester, SAME_AND_SLOW, metrics="metrics:\n  latency: {max_ms: 5, models: [base]}\n")
    result = pytester.runpytest()
    assert result.ret == 1
    result.stdout.fnmatch_lines(["  BROKEN test_pairs.prompts.yaml: model base: latency = 10 ms > max_ms 5 ms"])
    assert "model tuned: latency" not in result.stdout.str()


def test_consistency_and_bias_bounds(pytester: pytest.Pytester, project: PromptProject) -> None:
    """consistency {min} bounds verdict stability; bias {max_gap} the pass-rate gap between values."""
    project.suite(
        body="""
        prompts: {p: "{{ x }}"}
        cases:
          - {id: r, vars: {x: "same"}, repeat: 3, assert: [{equals: same}]}
          - {id: f, vars: {x: "{{ who }}"}, counterfactual: {who: [ok, no]}, assert: [{equals: ok}]}
        metrics:
          consistency: {min: 0.9}
          bias: {max_gap: 0.5}
          accuracy: {p95_ms: 3}
    """
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([
        "suite metric thresholds",
        "  BROKEN test_suite.prompts.yaml: model echo: bias = 1.000 > max_gap 0.500",
        "  note: test_suite.prompts.yaml: metrics.accuracy.p95_ms is not a bound of accuracy; ignored",
    ])  # fmt: skip
    assert "consistency =" not in result.stdout.str()  # the repeated case never flips
