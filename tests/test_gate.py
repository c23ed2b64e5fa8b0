"""--pc-gate: each verdict and exit status (SPEC §7), what it does not hide, and xdist equality."""

from __future__ import annotations

import pytest

from pair_project import section, setup_pair_project

SAME = [(True, True)] * 10  # unchanged passes


def test_significant_regression_exits_1(pytester: pytest.Pytester) -> None:
    """8 regressions vs 0 improvements: one-sided exact McNemar p = 1/256 -> regressed, exit 1."""
    setup_pair_project(pytester, SAME + [(True, False)] * 8)
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "baseline base vs candidate tuned: 18 cases, 18 pairs",
        "  unchanged 10 · improvements 0 · regressions 8 · known gaps 0 · unpaired 0",
        "  one-sided exact McNemar p = 0.00391 (8 regressions vs 0 improvements)",
        "  regressions (pass → fail):",
        "    test_pairs.prompts.yaml::c10 [[]p[]]",
        "      base : 'ok'",
        "      tuned: 'bad'",
        "gate: REGRESSED (exit 1)",
        "  - significant regression: one-sided exact McNemar p = 0.00391 <= alpha 0.05 (8 regressed vs 0 improved)",
    ])  # fmt: skip


def test_critical_regression_exits_1_without_significance(pytester: pytest.Pytester) -> None:
    """One regressed `critical` case is enough, whatever the test says."""
    setup_pair_project(pytester, [*SAME, (True, False), (False, True)], tags={10: "critical"})
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "    test_pairs.prompts.yaml::c10 [[]p[]]  (critical)",
        "gate: REGRESSED (exit 1)",
        "  - critical case 'c10' [[]p[]] in test_pairs.prompts.yaml regressed",
    ])  # fmt: skip


def test_threshold_on_candidate_exits_1(pytester: pytest.Pytester) -> None:
    """A suite threshold broken by the candidate regresses the gate, even with no regression."""
    setup_pair_project(pytester, [*SAME, (False, False)], metrics="metrics:\n  accuracy: {min: 0.95}\n")
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "suite metric thresholds",
        "  BROKEN test_pairs.prompts.yaml: model tuned: accuracy = 0.909 < min 0.950",
        "gate: REGRESSED (exit 1)",
        "  - threshold: test_pairs.prompts.yaml: model tuned: accuracy = 0.909 < min 0.950",
    ])  # fmt: skip


def test_pass_despite_failing_prompt_items(pytester: pytest.Pytester) -> None:
    """Baseline failures and known gaps fail items, yet the gate passes and the session exits 0."""
    setup_pair_project(pytester, [*SAME, (True, False), (False, True), (False, False)])
    result = pytester.runpytest("--pc-gate")
    result.assert_outcomes(passed=22, failed=4)  # item outcomes stay as pytest reports them
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "  known gaps (fail on both; not a regression):",
        "    test_pairs.prompts.yaml::c12 [[]p[]]",
        "gate: PASS (exit 0)",
        "  - no significant regression (one-sided exact McNemar p = 0.75, alpha 0.05)",
    ])  # fmt: skip
    assert pytester.runpytest().ret == 1  # without --pc-gate the failing items fail the session


def test_ordinary_failing_test_keeps_exit_1(pytester: pytest.Pytester) -> None:
    """--pc-gate never hides a failing ordinary test (or a passing gate's exit 0 would lie)."""
    setup_pair_project(pytester, SAME)
    pytester.makepyfile(test_plain="def test_broken():\n    assert False\n\ndef test_fine():\n    pass\n")
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["gate: PASS (exit 0); session exit 1 (from pytest: failing ordinary tests*)"])


def test_stopped_run_keeps_pytest_status(pytester: pytest.Pytester) -> None:
    """-x stops at the first failing item: an incomplete comparison never turns into exit 0."""
    setup_pair_project(pytester, [(False, False), *SAME])
    assert pytester.runpytest("--pc-gate", "-x").ret == 1


def test_collection_error_keeps_its_exit_status(pytester: pytest.Pytester) -> None:
    """A broken suite next to a passing gate still stops the session as pytest does (exit 2)."""
    setup_pair_project(pytester, SAME)
    pytester.makefile(".prompts.yaml", test_broken="cases: [{id: x, nope: 1}]\n")
    assert pytester.runpytest("--pc-gate").ret == pytest.ExitCode.INTERRUPTED
    assert pytester.runpytest("--pc-gate", "--continue-on-collection-errors").ret == 1


def test_inconclusive_exits_6_with_cases_needed(pytester: pytest.Pytester) -> None:
    """margin 0.05 on 12 identical cases: non-inferiority cannot be shown -> 6, with a sample size."""
    setup_pair_project(pytester, SAME[:10] + [(False, False)] * 2, gate="margin = 0.05")
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 6
    result.stdout.fnmatch_lines([
        "gate: INCONCLUSIVE (exit 6)",
        "  - non-inferiority not shown: the 95% lower bound of the delta, -18.4 pts, is not above -margin "
        "(-5.0 pts); about 122 cases needed (have 12)",
    ])  # fmt: skip


def test_inconclusive_passes_with_on_inconclusive_pass(pytester: pytest.Pytester) -> None:
    """on_inconclusive = "pass" turns the same outcome into exit 0."""
    setup_pair_project(pytester, SAME[:10] + [(False, False)] * 2, gate='margin = 0.05\non_inconclusive = "pass"')
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["gate: INCONCLUSIVE (exit 0)"])


def test_non_inferior_passes_with_margin(pytester: pytest.Pytester) -> None:
    """margin 0.2 on 12 identical cases: the lower bound is above -20 pts -> pass."""
    setup_pair_project(pytester, SAME[:10] + [(False, False)] * 2, gate="margin = 0.2")
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "gate: PASS (exit 0)",
        "  - non-inferior: the 95% lower bound of the delta, -18.4 pts, is above -margin (-20.0 pts)",
    ])  # fmt: skip


def test_provider_errors_exit_7(pytester: pytest.Pytester) -> None:
    """A candidate call that fails leaves a case without verdict: infrastructure, exit 7."""
    setup_pair_project(pytester, [*SAME, (True, None)])
    result = pytester.runpytest("--pc-gate")
    result.assert_outcomes(passed=21, errors=1)
    assert result.ret == 7
    result.stdout.fnmatch_lines([
        "  unpaired, left out: test_pairs.prompts.yaml::c10 [[]p[]]: no verdict on tuned (error)",
        "gate: INFRASTRUCTURE (exit 7)",
    ])  # fmt: skip


def test_regression_takes_precedence_over_infrastructure(pytester: pytest.Pytester) -> None:
    """Errors and a significant regression together: 1 wins over 7."""
    setup_pair_project(pytester, [*SAME, (True, None), *[(True, False)] * 8])
    assert pytester.runpytest("--pc-gate").ret == 1


def test_not_enforced_without_flag(pytester: pytest.Pytester) -> None:
    """Without --pc-gate the verdict is shown but the items decide the exit status."""
    setup_pair_project(pytester, [*SAME, (True, None)])
    result = pytester.runpytest()
    assert result.ret == 1
    result.stdout.fnmatch_lines(["gate (not enforced; --pc-gate lets it decide the exit status): INFRASTRUCTURE"])


def test_gate_needs_both_sides(pytester: pytest.Pytester, project: object) -> None:
    """--pc-gate without baseline/candidate, or with --pc-models leaving one out, is a usage error."""
    pytester.makefile(".prompts.yaml", test_one='prompts: {p: "{{ x }}"}\ncases: [{id: c, vars: {x: hi}}]\n')
    result = pytester.runpytest("--pc-gate")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--pc-gate needs a baseline and a candidate*--pc-baseline NAME --pc-candidate NAME*"])
    setup_pair_project(pytester, SAME)
    result = pytester.runpytest("--pc-gate", "--pc-models", "tuned")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--pc-models leaves out 'base'*"])


def test_variants_use_holm_and_design_effect(pytester: pytest.Pytester) -> None:
    """With two prompt variants, significance is per variant with Holm; the interval is design-adjusted."""
    setup_pair_project(pytester, SAME + [(True, False)] * 6)
    suite = pytester.path / "test_pairs.prompts.yaml"
    suite.write_text(suite.read_text().replace('prompts: {p: "{{ base }}|{{ tuned }}"}',
                     'prompts: {p: "{{ base }}|{{ tuned }}", q: "{{ base }}|{{ tuned }}"}'))  # fmt: skip
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "baseline base vs candidate tuned: 16 cases, 32 pairs",
        "  variants of one case are correlated: design effect 2.00 applied to the interval",
        "    per prompt variant, Holm-adjusted (what the gate tests): smallest p = 0.0312",
        "  by prompt variant  pairs  base  tuned  -  +       p  Holm p",
        "  p                     16  100%    62%  6  0  0.0156  0.0312",
        "  q                     16  100%    62%  6  0  0.0156  0.0312",
        "*significant regression: one-sided exact McNemar p = 0.0312 (Holm-adjusted across prompt variants)*",
    ])  # fmt: skip


def test_xdist_gives_the_same_summary(pytester: pytest.Pytester) -> None:
    """Metrics, comparison and verdict with -n 2 are line for line those of a run without xdist."""
    pairs = [*SAME, (True, False), (False, True), (False, False), (True, None)]
    setup_pair_project(pytester, pairs, tags={0: "critical", 11: "billing"},
                       metrics="metrics:\n  latency: {p95_ms: 15}\n")  # fmt: skip
    plain = pytester.runpytest_subprocess("--pc-gate", "--pc-no-cache")
    spread = pytester.runpytest_subprocess("--pc-gate", "--pc-no-cache", "-n", "2")
    assert plain.ret == spread.ret == 1
    assert section(plain.stdout.str()) == section(spread.stdout.str())
    assert "gate: REGRESSED (exit 1)" in section(spread.stdout.str())
