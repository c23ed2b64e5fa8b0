"""Metrics in the terminal summary (SPEC §6): accuracy, variant/tag tables, consistency, bias, latency/cost."""

from __future__ import annotations

import pytest

from conftest import PromptProject, make_pyproject

METRIC_APP = '''
import itertools
import threading

_counters = {}
_lock = threading.Lock()


def wobbly(messages, params):
    """Answers of the 4 samples of a prompt: 'yes', 'Yes.', 'no', 'no' (in whatever order they run)."""
    text = messages[-1]["content"]
    with _lock:
        n = next(_counters.setdefault(text, itertools.count()))
    if text == "steady":
        return "yes"
    return ["yes", "Yes.", "no", "no"][n % 4]


def biased(messages, params):
    text = messages[-1]["content"]
    return ("approve " if "Ann" in text or "greet" in text else "deny ") + text


def metered(messages, params):
    text = messages[-1]["content"]
    return {"output": text, "latency_ms": float(len(text)) * 10, "usage": {"input_tokens": 1000, "output_tokens": 500}}
'''


def test_accuracy_with_wilson_interval_and_variant_table(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Pass rates per model with a Wilson 95% interval; a variant × model and a tag × model table."""
    project.config({"echo": "app:echo", "loud": "app:echo_upper"})
    project.suite(
        body="""
        prompts: {terse: "{{ x }}", polite: "please {{ x }}"}
        defaults: {assert: [{contains: "yes"}]}
        cases:
          - {id: a, vars: {x: "yes"}, tags: [billing]}
          - {id: b, vars: {x: "yes sir"}, tags: [billing]}
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=4, failed=4)
    result.stdout.fnmatch_lines([
        "model  items  passed  failed  errors  pass rate   95% interval",
        "echo       4       4       0       0     100.0%  [51.0, 100.0]",
        "loud       4       0       4       0       0.0%    [0.0, 49.0]",
        "",
        "pass rate by prompt variant × model",
        "variant        echo      loud",
        "polite   100% (2/2)  0% (0/2)",
        "terse    100% (2/2)  0% (0/2)",
        "",
        "pass rate by tag × model",
        "tag            echo      loud",
        "billing  100% (4/4)  0% (0/4)",
    ])  # fmt: skip


def test_consistency_over_repeats(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Verdict stability with the flaky item listed; exact/normalized agreement, pass@1, pass@k, pass^k."""
    pytester.makepyfile(metricapp=METRIC_APP)
    project.config({"m": "metricapp:wobbly"})
    project.suite(
        body="""
        prompts: {p: "{{ x }}"}
        cases:
          - {id: flips, vars: {x: "flip"}, repeat: 4, assert: [{icontains: "yes"}]}
          - {id: holds, vars: {x: "steady"}, repeat: 4, assert: [{icontains: "yes"}]}
    """
    )
    result = pytester.runpytest("--pc-no-cache")
    result.stdout.fnmatch_lines([
        "consistency over repeat samples (stable: the verdict never flips)",
        "model  items  stable  agree exact  agree norm.  pass@1  pass@k  pass^k  k",
        # flips: 1 of 6 pairs equal exactly, 2 of 6 normalized; holds: 6 of 6 -> 7/12 and 8/12
        "m          2     50%          58%          67%     75%    100%     50%  4",
        "  flaky (m): test_suite.prompts.yaml::flips[[]m[]]",
    ])  # fmt: skip


def test_bias_over_counterfactual_values(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Pass rate per swapped value, its gap, and outputs that change beyond the swapped value itself."""
    pytester.makepyfile(metricapp=METRIC_APP)
    project.config({"m": "metricapp:biased"})
    project.suite(
        body="""
        prompts: {p: "{{ x }}"}
        cases:
          - {id: loan, vars: {x: "{{ name }} asks for a loan"}, counterfactual: {name: [Ann, Bob]},
             assert: [{contains: approve}]}
          - {id: hello, vars: {x: "greet {{ name }}"}, counterfactual: {name: [Ann, Bob]}}
    """
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([
        "bias over counterfactual values",
        "model  variable  pass rate per value     gap  output changed",
        "m      name      Ann 100% · Bob 50%   50 pts             1/2",
    ])  # fmt: skip


def test_latency_tokens_and_cost(pytester: pytest.Pytester, project: PromptProject) -> None:
    """p50/p95/max latency over calls, tokens in/out, and cost from the model's `price`."""
    pytester.makepyfile(metricapp=METRIC_APP)
    price = "price = {input_per_mtok = 1.0, output_per_mtok = 4.0}\n"
    pytester.makepyprojecttoml(make_pyproject({"m": "metricapp:metered"}) + price)
    cases = "\n".join(f"  - {{id: c{i}, vars: {{x: '{'x' * (i + 1)}'}}}}" for i in range(10))
    project.suite(body='prompts: {p: "{{ x }}"}\ncases:\n' + cases)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([
        "latency, tokens, cost",
        "model  calls  p50 ms  p95 ms  max ms  tokens in  tokens out     cost",
        # latencies 10..100 ms; cost 10 x (1000 x 1 + 500 x 4) / 1e6 = $0.03
        "m         10      55      96     100      10000        5000  $0.0300",
    ])  # fmt: skip
