"""The gate's statistics against published values, and a seeded simulation of its error rates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_promptcheck.config import GateConfig
from pytest_promptcheck.runs.compare import Counts, paired_stats
from pytest_promptcheck.runs.gate import decide
from pytest_promptcheck.runs.stats import (
    connor_pairs,
    holm,
    mcnemar_one_sided,
    pass_at_k,
    pass_hat_k,
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
