"""The gate's statistics against published values, and a seeded simulation of its error rates."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest

from pytest_promptcheck.config import GateConfig
from pytest_promptcheck.runs.compare import Counts, compare, paired_stats
from pytest_promptcheck.runs.gate import critical_false_alarm, decide, reproduced
from pytest_promptcheck.runs.record import CallRecord, ItemRecord
from pytest_promptcheck.runs.stats import (
    connor_pairs,
    holm,
    mcnemar_one_sided,
    pass_at_k,
    pass_hat_k,
    sign_flip_one_sided,
    tango_bound,
    wilson,
    z_quantile,
)


def test_exact_mcnemar_is_the_binomial_tail() -> None:
    """P(X >= b), X ~ Bin(b + c, 1/2): 7 vs 1 -> 9/256; no discordance -> 1."""
    assert mcnemar_one_sided(7, 1) == 9 / 256
    assert mcnemar_one_sided(8, 0) == 1 / 256
    assert mcnemar_one_sided(0, 0) == 1.0
    assert mcnemar_one_sided(1, 1) == 0.75


def test_tango_interval_matches_contingencytables() -> None:
    """Cavo et al. (2012) table (59, 6, 16, 80): Tango 95% CI -0.1240 to -0.0054 (Fagerland et al.)."""
    z = z_quantile(0.975)
    # their delta is (n12 - n21) / N = (6 - 16) / 161: improvements c = 6, regressions b = 16
    assert tango_bound(16, 6, 161, z) == pytest.approx(-0.1240, abs=5e-5)
    assert tango_bound(16, 6, 161, -z) == pytest.approx(-0.0054, abs=5e-5)
    # no discordant pairs: a proper interval, not a point (a percentile bootstrap gives [0, 0])
    assert tango_bound(0, 0, 12, 1.645) == pytest.approx(-(1.645**2) / (12 + 1.645**2), rel=1e-3)


def test_wilson_connor_holm_and_pass_at_k() -> None:
    """Wilson (3 of 4), Connor's worked examples (notes/statistics.md), Holm, pass@k and pass^k."""
    low, high = wilson(3, 4)
    assert (round(low, 4), round(high, 4)) == (0.3006, 0.9544)
    assert connor_pairs(0.10, 0.05, alpha=0.05) == 246  # "ψ = 0.10 -> n ≈ 245"
    assert connor_pairs(0.20, 0.05, alpha=0.05) == 493
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4) and pass_at_k(5, 2, 5) == 1.0
    assert pass_hat_k(5, 4, 2) == pytest.approx(math.comb(4, 2) / math.comb(5, 2))


def _simulate(*, turned: int, margin: float, seed: int, suites: int = 1000, n: int = 500) -> dict[str, float]:
    """Share of each verdict over simulated suites: baseline pass rate 0.8, every verdict flipped w.p. 0.05."""
    rng = np.random.default_rng(seed)
    truth = rng.random((suites, n)) < 0.8
    candidate = truth.copy()
    if turned:  # the first `turned` baseline-passing cases of each suite become failures (cases are iid)
        ranks = np.cumsum(truth, axis=1)
        candidate &= ~(truth & (ranks <= turned))
    base = truth ^ (rng.random((suites, n)) < 0.05)
    cand = candidate ^ (rng.random((suites, n)) < 0.05)
    a, b = (base & cand).sum(1), (base & ~cand).sum(1)
    c, d = (~base & cand).sum(1), (~base & ~cand).sum(1)
    gate = GateConfig(alpha=0.05, margin=margin)
    verdicts = [
        decide(paired_stats({"p": Counts(*map(int, row))}, cases=n, alpha=gate.alpha), gate).verdict.value
        for row in zip(a, b, c, d)
    ]
    return {v: verdicts.count(v) / suites for v in ("pass", "regressed", "inconclusive")}


def test_simulated_gate_error_rates() -> None:
    """n = 500, p = 0.8, noise 0.05: false alarms <= alpha + 0.02, power >= 0.8, non-inferiority >= 0.9."""
    same = _simulate(turned=0, margin=0.0, seed=1)
    worse = _simulate(turned=25, margin=0.0, seed=2)
    margin = _simulate(turned=0, margin=0.05, seed=3)
    print(
        f"\nsimulated gate over 1,000 suites: (a) regressed when equal {same['regressed']:.3f}; "
        f"(b) regressed with 25 cases turned {worse['regressed']:.3f}; "
        f"(c) pass with margin 0.05 when equal {margin['pass']:.3f}"
    )
    assert same["regressed"] <= 0.05 + 0.02
    assert worse["regressed"] >= 0.80
    assert margin["pass"] >= 0.90


def test_simulated_interval_coverage() -> None:
    """The one-sided 95% Tango lower bound covers the true delta about 95% of the time (n = 200)."""
    rng = np.random.default_rng(4)
    n, true_delta, z = 200, -0.03, z_quantile(0.95)
    # cells: regressions with prob 0.08, improvements 0.05 -> delta = -0.03
    draws = rng.multinomial(n, [0.08, 0.05, 0.87], size=2000)
    covered = np.mean([tango_bound(b, c, n, z) <= true_delta for b, c, _ in draws])
    assert 0.93 <= covered <= 0.97


def _cells(rng: np.random.Generator, *, turned: int, suites: int, n: int, noise: float = 0.05) -> np.ndarray:
    """(suites, 4) paired tables a, b, c, d: baseline pass rate 0.8, ``turned`` passing cases broken, noise."""
    truth = rng.random((suites, n)) < 0.8
    candidate = truth.copy()
    if turned:
        ranks = np.cumsum(truth, axis=1)
        candidate &= ~(truth & (ranks <= turned))
    base = truth ^ (rng.random((suites, n)) < noise)
    cand = candidate ^ (rng.random((suites, n)) < noise)
    return np.stack([(base & cand).sum(1), (base & ~cand).sum(1), (~base & cand).sum(1), (~base & ~cand).sum(1)], 1)


def _verdicts(cells: np.ndarray, gate: GateConfig, n: int) -> dict[str, float]:
    found = [
        decide(paired_stats({"p": Counts(*map(int, row))}, cases=n, alpha=gate.alpha), gate).verdict.value
        for row in cells
    ]
    return {v: found.count(v) / len(found) for v in ("pass", "regressed", "inconclusive")}


def test_a_margin_protects_drops_inside_it() -> None:
    """margin 5 pts: a true 2-point drop at n = 2,000 is almost never "regressed" (was 88%); a drop of
    exactly the margin passes at most alpha + 0.02 of the time."""
    gate = GateConfig(alpha=0.05, margin=0.05)
    inside = _verdicts(_cells(np.random.default_rng(11), turned=40, suites=1000, n=2000), gate, 2000)
    # noise flips 5% of each side's verdicts, which shrinks a true delta by 1 - 2 * 0.05: turn more to
    # make the *observed* delta equal the margin
    at_margin = _verdicts(_cells(np.random.default_rng(12), turned=round(0.05 * 500 / 0.9), suites=1000, n=500),
                          gate, 500)  # fmt: skip
    print(f"\nmargin 0.05: true -2 pts at n = 2,000 regressed {inside['regressed']:.3f}; "
          f"delta = -margin at n = 500 passes {at_margin['pass']:.3f}")  # fmt: skip
    assert inside["regressed"] <= 0.05 + 0.02
    assert at_margin["pass"] <= 0.05 + 0.02


def test_pooled_variants_keep_single_variant_power() -> None:
    """25 of 500 cases broken, three variants that share each case's verdicts: the pooled case-level
    test regresses >= 80% of suites (Holm's minimum: about 70%); with no change it keeps alpha."""
    gate = GateConfig(alpha=0.05)
    for turned, check in ((25, lambda share: share >= 0.80), (0, lambda share: share <= 0.05 + 0.02)):
        cells = _cells(np.random.default_rng(13 + turned), turned=turned, suites=1000, n=500)
        regressed = {"pooled": 0, "holm": 0}
        for a, b, c, d in cells:
            counts = Counts(int(a), int(b), int(c), int(d))
            changes = [3] * counts.b + [-3] * counts.c  # each case's three variants agree
            for method in regressed:
                stats = paired_stats({v: counts for v in "xyz"}, cases=500, alpha=0.05, design_effect=3.0,
                                     case_changes=changes, method=method)  # fmt: skip
                regressed[method] += decide(stats, gate).verdict.value == "regressed"
        share = {m: r / len(cells) for m, r in regressed.items()}
        print(f"\n{turned} turned, three agreeing variants: regressed pooled {share['pooled']:.3f}, "
              f"Holm {share['holm']:.3f}")  # fmt: skip
        assert check(share["pooled"]), share
    assert share["holm"] <= share["pooled"]


@pytest.mark.parametrize("regress, improve, margin", [(0.06, 0.05, 0.05), (0.08, 0.06, 0.05), (0.03, 0.03, 0.03)])
def test_cases_needed_is_calibrated(regress: float, improve: float, margin: float) -> None:
    """A suite of the printed size passes >= 75% of the time when the true delta is the observed one."""
    pilot_n = 400
    pilot = paired_stats({"p": Counts(round(pilot_n * (1 - regress - improve)), round(pilot_n * regress),
                                      round(pilot_n * improve), 0)}, cases=pilot_n, alpha=0.05)  # fmt: skip
    needed = pilot.cases_needed(margin)
    assert needed is not None
    rng = np.random.default_rng(14)
    draws = rng.multinomial(needed, [1 - regress - improve, regress, improve, 0.0], size=1000)
    passed = _verdicts(draws, GateConfig(alpha=0.05, margin=margin), needed)["pass"]
    print(f"\nregress {regress}, improve {improve}, margin {margin}: {needed} cases needed, pass {passed:.3f}")
    assert passed >= 0.75


def test_cases_needed_cannot_be_shown_beyond_the_margin() -> None:
    """An observed delta at or below -margin needs no size: none would show non-inferiority."""
    stats = paired_stats({"p": Counts(90, 7, 1, 2)}, cases=100, alpha=0.05)  # delta -6 pts
    assert stats.cases_needed(0.05) is None
    assert paired_stats({"p": Counts(96, 2, 2, 0)}, cases=100, alpha=0.05).cases_needed(0.05) is not None


def test_critical_false_alarms_with_confirm() -> None:
    """20 critical cases of 500 under 5% noise, nothing changed: critical flips fail most gates without
    confirmation; re-sampling each regressed one 3 times per side brings false alarms to <= alpha + 0.02."""
    rng = np.random.default_rng(15)
    suites, n, critical, noise = 1000, 500, 20, 0.05
    alarms = {0: 0, 3: 0}
    for _ in range(suites):
        truth = rng.random(n) < 0.8
        base, cand = truth ^ (rng.random(n) < noise), truth ^ (rng.random(n) < noise)
        counts = Counts(int((base & cand).sum()), int((base & ~cand).sum()), int((~base & cand).sum()),
                        int((~base & ~cand).sum()))  # fmt: skip
        stats = paired_stats({"p": counts}, cases=n, alpha=0.05)
        regressed = [i for i in range(critical) if base[i] and not cand[i]]
        for confirm in alarms:
            counted = []
            for i in regressed:
                resampled_base = tuple(bool(truth[i] ^ (rng.random() < noise)) for _ in range(confirm))
                resampled_cand = tuple(bool(truth[i] ^ (rng.random() < noise)) for _ in range(confirm))
                if reproduced(resampled_base, resampled_cand):
                    counted.append(SimpleNamespace(case=f"c{i}", variant="p", suite="s"))
            gate = GateConfig(alpha=0.05, confirm=confirm)
            alarms[confirm] += decide(stats, gate, critical=counted).verdict.value == "regressed"  # type: ignore[arg-type]
    share = {k: v / suites for k, v in alarms.items()}
    print(f"\n20 critical cases, 5% noise: false alarms without confirm {share[0]:.3f}, confirm 3 {share[3]:.3f}; "
          f"formula {critical_false_alarm(critical, 0):.3f} / {critical_false_alarm(critical, 3):.4f}")  # fmt: skip
    assert share[0] >= 0.5  # the problem the setting exists for
    assert share[3] <= 0.05 + 0.02


def test_sign_flip_is_exact() -> None:
    """The case-level test equals exact McNemar with one variant per case and brute force otherwise."""
    assert sign_flip_one_sided([1] * 7 + [-1]) == mcnemar_one_sided(7, 1)
    assert sign_flip_one_sided([2] * 6) == mcnemar_one_sided(6, 0)
    changes = [2, 2, 1, -1, 1, 3, -2]
    at_least = sum(
        sum(s * abs(x) for s, x in zip(signs, changes)) >= sum(changes)
        for signs in itertools.product((1, -1), repeat=len(changes))
    )
    assert sign_flip_one_sided(changes) == pytest.approx(at_least / 2 ** len(changes))
    assert mcnemar_one_sided(3, 0, mid_p=True) == pytest.approx(1 / 16)  # P(X > 3) + P(X = 3) / 2 = 0.5 / 8


def _repeated(case: str, model: str, passes: int, samples: int = 5) -> ItemRecord:
    """An item of ``samples`` repeat calls of which ``passes`` pass, judged with min_pass 0.6."""
    calls = tuple(CallRecord(s, {}, ({"role": "user", "content": case},), passed=s < passes) for s in range(samples))
    outcome = "passed" if passes / samples >= 0.6 else "failed"
    return ItemRecord(f"s::{case}[{model}]", "s", case, "p", model, "python", "python:x", None, (), None,
                      outcome, None, None, 0.6, calls)  # fmt: skip


def test_repeats_enter_as_pass_shares() -> None:
    """Ten cases pass 5/5 samples on the baseline and 3/5 on the candidate: every item verdict passes
    (min_pass 0.6), so verdicts alone see no change; the shares of passing samples show the drop."""
    records = [r for i in range(10) for r in (_repeated(f"c{i}", "base", 5), _repeated(f"c{i}", "tuned", 3))]
    comparison = compare(records, "base", "tuned", alpha=0.05)
    assert comparison.stats.counts == Counts(10, 0, 0, 0)  # pairs are still counted by verdict
    assert comparison.stats.on_samples and comparison.stats.p_value == pytest.approx(0.5**10)
    assert decide(comparison.stats, GateConfig()).verdict.value == "regressed"
    same = [r for i in range(10) for r in (_repeated(f"c{i}", "base", 4), _repeated(f"c{i}", "tuned", 4))]
    assert compare(same, "base", "tuned", alpha=0.05).stats.p_value == 1.0
