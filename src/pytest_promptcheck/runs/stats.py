"""The statistics behind metrics and the gate: pure functions on counts, standard library only.

Sources are in ``notes/statistics.md``. Everything here is exact or closed form (no resampling),
so a run's numbers never depend on a random seed, on run order or on ``-n``, and a gate decision
costs microseconds (the simulation test runs thousands of them).

Paired notation: over n pairs, b = baseline pass & candidate fail (regressions), c = baseline fail &
candidate pass (improvements); the pass-rate delta is Δ = (c − b) / n.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_NORMAL = NormalDist()


def z_quantile(p: float) -> float:
    """The standard normal quantile: ``z_quantile(0.975) ≈ 1.96``."""
    return _NORMAL.inv_cdf(p)


def wilson(passed: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a pass rate; (0, 1) when nothing was judged.

    Unlike the Wald interval it stays inside [0, 1] and is not degenerate at 0 or n passes.
    """
    if n == 0:
        return 0.0, 1.0
    z = z_quantile(0.5 + confidence / 2)
    p = passed / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_one_sided(b: int, c: int) -> float:
    """Exact McNemar p-value for "candidate worse": P(X >= b), X ~ Binomial(b + c, 1/2).

    Exact integer arithmetic (no chi-square approximation), so it is right at small counts; 1.0
    when there are no discordant pairs.
    """
    m = b + c
    if m == 0:
        return 1.0
    term = tail = math.comb(m, b)
    for k in range(b, m):  # C(m, k + 1) from C(m, k): one big-int step per term, not a fresh comb()
        term = term * (m - k) // (k + 1)
        tail += term
    return min(1.0, tail / 2**m)


def holm(p_values: dict[str, float]) -> dict[str, float]:
    """Holm-adjusted p-values (step-down, monotone), for one family of tests."""
    ordered = sorted(p_values.items(), key=lambda kv: (kv[1], kv[0]))
    count = len(ordered)
    adjusted: dict[str, float] = {}
    running = 0.0
    for rank, (name, p) in enumerate(ordered):
        running = max(running, min(1.0, (count - rank) * p))
        adjusted[name] = running
    return adjusted


def tango_bound(b: float, c: float, n: float, z: float) -> float:
    """The Δ at which Tango's score statistic equals ``z`` (z > 0: lower bound, z < 0: upper bound).

    Tango (1998), score interval for a difference of paired proportions; counts may be fractional
    (design-effect–adjusted, see ``compare``). Z(θ) decreases in θ, so the bound is found by
    bisection on [-1, 1].
    """
    if n <= 0:
        return -1.0 if z > 0 else 1.0
    lo, hi = -1.0, 1.0
    for _ in range(60):  # 2**-60: far below any printed digit
        mid = (lo + hi) / 2
        if _tango_z(b, c, n, mid) > z:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _tango_z(b: float, c: float, n: float, theta: float) -> float:
    """Tango's score statistic for H0: Δ = θ, with the restricted MLE of the regression cell."""
    w = -c - b + (2 * n - c + b) * theta
    p_b = (math.sqrt(max(0.0, w * w + 8 * n * b * theta * (1 - theta))) - w) / (4 * n)
    variance = n * (2 * p_b + theta * (1 - theta))
    numerator = c - b - n * theta
    if variance <= 1e-15:
        return math.copysign(math.inf, numerator) if numerator else 0.0
    return numerator / math.sqrt(variance)


def connor_pairs(discordant: float, delta: float, *, alpha: float, power: float = 0.8) -> int:
    """Pairs needed for a one-sided McNemar-type test to detect ``delta`` (Connor 1987).

    n ≈ [z_{1−α}·√ψ + z_{1−β}·√(ψ − Δ²)]² / Δ², ψ the discordant proportion. ψ is floored at Δ,
    the least discordance a shift of Δ needs (an observed ψ of 0 would otherwise give n = 0).
    """
    psi = max(discordant, delta)
    root = z_quantile(1 - alpha) * math.sqrt(psi) + z_quantile(power) * math.sqrt(max(0.0, psi - delta * delta))
    return math.ceil(root * root / (delta * delta))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c passing (Chen et al. 2021): 1 − C(n−c, k) / C(n, k)."""
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k, all k samples pass, from the same n samples: C(c, k) / C(n, k)."""
    return math.comb(c, k) / math.comb(n, k)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation between order statistics (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
