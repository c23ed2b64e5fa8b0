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


def mcnemar_one_sided(b: int, c: int, *, mid_p: bool = False) -> float:
    """Exact McNemar p-value for "candidate worse": P(X >= b), X ~ Binomial(b + c, 1/2).

    Exact integer arithmetic (no chi-square approximation), so it is right at small counts; 1.0
    when there are no discordant pairs. ``mid_p``: P(X > b) + P(X = b) / 2 (Lancaster's mid-p,
    less conservative, no longer guaranteed to keep alpha).
    """
    m = b + c
    if m == 0:
        return 1.0
    term = tail = math.comb(m, b)
    for k in range(b, m):  # C(m, k + 1) from C(m, k): one big-int step per term, not a fresh comb()
        term = term * (m - k) // (k + 1)
        tail += term
    if mid_p:
        return min(1.0, (tail - math.comb(m, b) / 2) / 2**m)
    return min(1.0, tail / 2**m)


def sign_flip_one_sided(changes: list[int], *, mid_p: bool = False) -> float:
    """Exact case-level sign-flip p-value for "candidate worse", with the case as the unit.

    ``changes`` holds one integer per case: its regressions minus its improvements over its prompt
    variants (pairs). Under "no difference" the two sides of a case are exchangeable, so each
    case's change is equally likely to have either sign; the p-value is P(Σ εᵢ·|dᵢ| >= Σ dᵢ) over
    independent fair signs εᵢ, computed exactly by convolving one scaled binomial per distinct |d|.
    Variants of one case that agree perfectly count as one case (alpha is kept under any
    correlation), and with one variant per case it is exactly :func:`mcnemar_one_sided`.
    """
    observed = sum(changes)
    sizes: dict[int, int] = {}
    for change in changes:
        if change:
            sizes[abs(change)] = sizes.get(abs(change), 0) + 1
    if not sizes:
        return 1.0
    if len(sizes) == 1:  # the common case (one variant, or variants that agree): the exact binomial
        ((scale, m),) = sizes.items()
        if observed % scale == 0:
            regressions = (observed // scale + m) // 2
            return mcnemar_one_sided(regressions, m - regressions, mid_p=mid_p)
    dist = {0: 1.0}  # the distribution of Σ εᵢ·|dᵢ|, one group of equal |d| at a time
    for scale, m in sorted(sizes.items()):
        weights = _binomial_half(m)
        step: dict[int, float] = {}
        for total, p in dist.items():
            for k, w in enumerate(weights):
                key = total + scale * (2 * k - m)
                step[key] = step.get(key, 0.0) + p * w
        dist = step
    above = sum(p for total, p in dist.items() if total > observed)
    at = dist.get(observed, 0.0)
    return min(1.0, above + (at / 2 if mid_p else at))


def _binomial_half(m: int) -> list[float]:
    """P(X = k), X ~ Binomial(m, 1/2), for k = 0..m (log space: no underflow for large m)."""
    log_half = m * math.log(0.5)
    return [math.exp(math.lgamma(m + 1) - math.lgamma(k + 1) - math.lgamma(m - k + 1) + log_half) for k in range(m + 1)]


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


def noninferiority_pairs(
    regress: float, improve: float, margin: float, *, alpha: float, power: float = 0.8
) -> float | None:
    """Pairs a one-sided Tango score test of "Δ <= −margin" needs to reject it with ``power`` when the
    true regression and improvement probabilities are ``regress`` and ``improve`` (Nam 1997).

    n = [z_{1−α}·σ₀ + z_{power}·σ₁]² / (Δ + margin)², with σ₁² = ψ − Δ² the variance at the true
    cells and σ₀² = 2·p̃ − margin·(1 + margin) the variance at Tango's restricted estimate p̃ of the
    regression cell under Δ = −margin. None when Δ <= −margin: no suite size shows non-inferiority
    at that delta.
    """
    distance = improve - regress + margin
    if distance <= 0:
        return None
    sigma0, sigma1 = _noninferiority_sigmas(regress, improve, margin)
    root = z_quantile(1 - alpha) * sigma0 + z_quantile(power) * sigma1
    return root * root / (distance * distance)


def noninferiority_power(pairs: float, regress: float, improve: float, margin: float, *, alpha: float) -> float:
    """Approximate chance that the one-sided Tango test shows non-inferiority at ``margin`` with ``pairs``
    pairs: Φ(((Δ + margin)·√n − z_{1−α}·σ₀) / σ₁), the σ of :func:`noninferiority_pairs`."""
    sigma0, sigma1 = _noninferiority_sigmas(regress, improve, margin)
    shift = (improve - regress + margin) * math.sqrt(max(pairs, 0.0)) - z_quantile(1 - alpha) * sigma0
    if sigma1 <= 1e-12:
        return 1.0 if shift > 0 else 0.0
    return _NORMAL.cdf(shift / sigma1)


def _noninferiority_sigmas(regress: float, improve: float, margin: float) -> tuple[float, float]:
    theta, delta = -margin, improve - regress
    w = -improve - regress + (2 - improve + regress) * theta
    restricted = (math.sqrt(max(0.0, w * w + 8 * regress * theta * (1 - theta))) - w) / 4
    sigma0 = math.sqrt(max(0.0, 2 * restricted + theta * (1 - theta)))
    sigma1 = math.sqrt(max(0.0, regress + improve - delta * delta))
    return sigma0, sigma1


def mcnemar_power(pairs: float, regress: float, improve: float, *, alpha: float) -> float:
    """Approximate power of the one-sided McNemar test at ``pairs`` pairs (Connor 1987's normal form)."""
    psi, delta = regress + improve, improve - regress
    if pairs <= 0 or psi <= 0:
        return 0.0
    spread = math.sqrt(max(1e-12, psi - delta * delta))
    return _NORMAL.cdf((-delta * math.sqrt(pairs) - z_quantile(1 - alpha) * math.sqrt(psi)) / spread)


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
