"""--pc-gate: each verdict and exit status (SPEC §7), what it does not hide, and xdist equality."""

from __future__ import annotations

import pytest

from conftest import make_pyproject
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
    """margin 0.05 on 12 identical cases: non-inferiority cannot be shown -> 6, with a sample size
    from the observed delta (at 52 identical cases the 95% lower bound first clears -5 pts)."""
    setup_pair_project(pytester, SAME[:10] + [(False, False)] * 2, gate="margin = 0.05")
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 6
    result.stdout.fnmatch_lines([
        "gate: INCONCLUSIVE (exit 6)",
        "  - non-inferiority not shown: the 95% lower bound of the delta, -18.4 pts, is not above -margin "
        "(-5.0 pts); about 52 cases needed (have 12) if the true delta is the observed one",
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
    """variants = "holm": significance is per variant with Holm; the interval is design-adjusted."""
    setup_pair_project(pytester, SAME + [(True, False)] * 6, gate='variants = "holm"')
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


def test_a_drop_inside_the_margin_passes(pytester: pytest.Pytester) -> None:
    """115 regressions vs 75 improvements in 2,000 cases, margin 0.05: the 95% lower bound, -3.15 pts,
    is inside the margin -> pass (no test against 0; McNemar alone would say regressed)."""
    pairs = [(True, False)] * 115 + [(False, True)] * 75 + [(True, True)] * 1600 + [(False, False)] * 210
    setup_pair_project(pytester, pairs, gate="margin = 0.05")
    result = pytester.runpytest("--pc-gate", "-p", "no:cacheprovider")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "gate: PASS (exit 0)",
        "  rule: non-inferiority, margin 5.0 pts: regressed when the 95% upper bound*(no test against 0)",
        "  - non-inferior: the 95% lower bound of the delta, -3.1 pts, is above -margin (-5.0 pts)",
    ])  # fmt: skip


def test_beyond_the_margin_cannot_be_shown(pytester: pytest.Pytester) -> None:
    """An observed drop of 6 points under a 5-point margin: inconclusive, and no suite size would help."""
    setup_pair_project(pytester, [(True, True)] * 94 + [(True, False)] * 6, gate="margin = 0.05")
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 6
    result.stdout.fnmatch_lines([
        "gate: INCONCLUSIVE (exit 6)",
        "  - non-inferiority not shown: * it cannot be shown at this delta (-6.0 pts is at or below -margin): "
        "more cases would not change that",
    ])  # fmt: skip


def test_worse_than_the_margin_regresses(pytester: pytest.Pytester) -> None:
    """30 regressions in 100 cases: the upper bound of the delta is below -5 pts -> regressed."""
    setup_pair_project(pytester, [(True, True)] * 70 + [(True, False)] * 30, gate="margin = 0.05")
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["  - worse than the margin: the 95% upper bound of the delta, * is below -margin (-5.0 pts)"]
    )


def test_pooled_variants_are_one_case_level_test(pytester: pytest.Pytester) -> None:
    """Two agreeing variants: the pooled test counts each case once (p = 1/64 for 6 broken cases), not 1/4096."""
    setup_pair_project(pytester, SAME + [(True, False)] * 6)
    suite = pytester.path / "test_pairs.prompts.yaml"
    suite.write_text(suite.read_text().replace('prompts: {p: "{{ base }}|{{ tuned }}"}',
                     'prompts: {p: "{{ base }}|{{ tuned }}", q: "{{ base }}|{{ tuned }}"}'))  # fmt: skip
    result = pytester.runpytest("--pc-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "  one-sided exact sign-flip test over 16 cases, variants pooled (what the gate tests): p = 0.0156 *",
        "  rule: regression test (margin 0): one-sided exact sign-flip test over cases (variants pooled) at alpha 0.05",
        "*significant regression: one-sided exact sign-flip test over cases (variants pooled) p = 0.0156 <= alpha*",
    ])  # fmt: skip


JUDGE_APP = """
CALLS = []


def grader(messages, params):
    output = messages[1]["content"].split("<output>")[1].split("</output>")[0].strip()
    CALLS.append(output)
    return "Hmm, hard to say." if output == "odd" else '{"score": 1, "reason": "fine"}'
"""


def test_an_unreadable_judge_is_no_verdict(pytester: pytest.Pytester) -> None:
    """A grader that cannot be read, even asked again, on a critical case: exit 7, "judge unreadable", not 1."""
    setup_pair_project(pytester, SAME)
    pytester.makepyfile(judgeapp=JUDGE_APP)
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('models = ["base", "tuned"]', 'models = ["base", "tuned"]\njudge = "grader"')
                         + '\n[tool.promptcheck.model.grader]\nprovider = "python"\nfunction = "judgeapp:grader"\n')  # fmt: skip
    pytester.makefile(".prompts.yaml", test_judged='prompts: {p: "{{ base }}|{{ tuned }}"}\ncases:\n'
                      '  - {id: polite, vars: {base: fine, tuned: odd}, tags: [critical], models: [base, tuned],\n'
                      '     assert: [{judge: "The reply is polite"}]}\n')  # fmt: skip
    result = pytester.runpytest("--pc-gate", "-p", "no:cacheprovider")
    assert result.ret == 7
    result.stdout.fnmatch_lines([
        "*judge unreadable: judge 'grader' gave a verdict that could not be read (asked 2 times)*Hmm, hard to say.*",
        "gate: INFRASTRUCTURE (exit 7)",
        "  - 1 item(s) on the baseline or candidate got no verdict (1 judge unreadable*",
    ])  # fmt: skip


def test_the_third_gated_attempt_says_so(pytester: pytest.Pytester) -> None:
    """Candidates gated against one baseline on the same suites are counted from the run history; a rerun
    of the same candidate and an ungated run are not new attempts."""
    setup_pair_project(pytester, [*SAME, (True, False)])
    app = pytester.path / "pairapp.py"

    def new_candidate(attempt: int) -> None:  # a changed function is a new candidate (its source is hashed)
        app.write_text(
            app.read_text().replace("    return _answer(messages, 1)", f"    return _answer(messages, 1)  # {attempt}")
        )

    for attempt in (1, 2):
        new_candidate(attempt)
        assert pytester.runpytest("--pc-gate", "-p", "no:cacheprovider").ret == 0
    assert pytester.runpytest("--pc-gate", "-p", "no:cacheprovider").ret == 0  # the same candidate again
    new_candidate(3)
    assert pytester.runpytest("-p", "no:cacheprovider").ret == 1  # not gated: not an attempt
    result = pytester.runpytest("--pc-gate", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["  note: attempt 3 against this baseline on these suites*at least one of 3 with *%"])
    limited = pytester.path / "pyproject.toml"
    limited.write_text(limited.read_text() + "\n[tool.promptcheck.gate]\nmax_attempts = 3\n")
    new_candidate(4)
    result = pytester.runpytest("--pc-gate", "-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["  - attempt 4 against this baseline on these suites exceeds max_attempts 3*"])


FLAKY_APP = """
from pytest_promptcheck.calls.plan import derive_seed


def base(messages, params):
    return "ok"


def tuned(messages, params):
    word = messages[-1]["content"]
    if word == "always":
        return "bad"
    return "bad" if params["seed"] == derive_seed(0, "login", 0) else "ok"  # fails on its first sample only
"""


@pytest.mark.parametrize("word, verdict", [("once", "PASS"), ("always", "REGRESSED")])
def test_a_sampled_critical_regression_is_confirmed(pytester: pytest.Pytester, word: str, verdict: str) -> None:
    """temperature > 0: a critical case that fails once on the candidate is re-sampled 3 times per side and
    counts only when the failure reproduces."""
    pytester.makepyfile(flaky=FLAKY_APP)
    pytester.makepyprojecttoml(make_pyproject({"base": "flaky:base", "tuned": "flaky:tuned"},
                                              'baseline = "base"\ncandidate = "tuned"\n'))  # fmt: skip
    pytester.makefile(".prompts.yaml", test_login=f'prompts: {{p: "{word}"}}\ncases:\n'
                      "  - {id: login, tags: [critical], params: {temperature: 0.7}, assert: [{equals: ok}]}\n")  # fmt: skip
    result = pytester.runpytest("--pc-gate", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"gate: {verdict} *"])
    if verdict == "PASS":
        result.stdout.fnmatch_lines(["*critical case 'login' [[]p[]] in test_login.prompts.yaml regressed once but not in "
                                     "its 3 re-samples: not counted (confirm)"])  # fmt: skip
    records = (next((pytester.path / ".promptcheck" / "runs").glob("*")) / "results.jsonl").read_text()
    assert '"confirmations": [true, true, true]' in records  # the baseline's re-samples pass
