"""The checkpoint gate (SPEC §7): one verdict from the comparison, and the session's exit status.

Verdicts and exit statuses, by precedence (the first that applies wins):

    regressed       1  a ``critical`` case regressed, or the one-sided exact McNemar test is
                       significant at ``alpha`` (Holm across prompt variants), or a suite metric
                       threshold breaks on the candidate
    infrastructure  7  items on either side got no verdict (provider errors, crashing checks)
    inconclusive    6  margin > 0 and the one-sided (1 − alpha) lower bound of the delta is not
                       above −margin; 0 with ``on_inconclusive = "pass"``
    pass            0  otherwise (with margin > 0: the candidate is shown non-inferior)

With ``--pc-gate`` the gate decides the prompt items' share of the exit status; ordinary tests
and collection errors keep theirs (``session_exit_status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ..config import GateConfig
from .compare import Pair, PairedStats
from .thresholds import Breach


class GateVerdict(str, Enum):
    PASS = "pass"
    REGRESSED = "regressed"
    INCONCLUSIVE = "inconclusive"
    INFRASTRUCTURE = "infrastructure"


EXIT_STATUS = {
    GateVerdict.PASS: 0,
    GateVerdict.REGRESSED: 1,
    GateVerdict.INCONCLUSIVE: 6,
    GateVerdict.INFRASTRUCTURE: 7,
}


@dataclass(frozen=True)
class GateResult:
    verdict: GateVerdict
    exit_status: int
    reasons: tuple[str, ...]
    cases_needed: int | None = None  # only when inconclusive


def decide(
    stats: PairedStats,
    gate: GateConfig,
    *,
    critical: Sequence[Pair] = (),
    breaches: Sequence[Breach] = (),
    errors: int = 0,
) -> GateResult:
    """The gate's verdict; ``critical`` are the regressed critical pairs, ``errors`` items without verdict."""
    regressions = _regression_reasons(stats, gate, critical, breaches)
    if regressions:
        return GateResult(GateVerdict.REGRESSED, 1, tuple(regressions))
    if errors:
        why = f"{errors} item(s) on the baseline or candidate got no verdict (errors); those cases are not compared"
        return GateResult(GateVerdict.INFRASTRUCTURE, 7, (why,))
    if gate.margin > 0 and not stats.lower > -gate.margin:
        needed = stats.cases_needed(gate.margin)
        why = (
            f"non-inferiority not shown: the {1 - gate.alpha:.0%} lower bound of the delta, {_pts(stats.lower)}, "
            f"is not above -margin ({_pts(-gate.margin)}); about {needed} cases needed (have {stats.cases})"
        )
        status = 0 if gate.on_inconclusive == "pass" else 6
        return GateResult(GateVerdict.INCONCLUSIVE, status, (why,), needed)
    return GateResult(GateVerdict.PASS, 0, (_pass_reason(stats, gate),))


def _regression_reasons(
    stats: PairedStats, gate: GateConfig, critical: Sequence[Pair], breaches: Sequence[Breach]
) -> list[str]:
    reasons = [f"critical case {p.case!r} [{p.variant}] in {p.suite} regressed" for p in critical]
    if stats.p_value <= gate.alpha:
        reasons += [_mcnemar_reason(stats, gate)]
    return reasons + [f"threshold: {b.line()}" for b in breaches]


def _mcnemar_reason(stats: PairedStats, gate: GateConfig) -> str:
    counts = stats.counts
    holm = " (Holm-adjusted across prompt variants)" if len(stats.by_variant) > 1 else ""
    return (
        f"significant regression: one-sided exact McNemar p = {stats.p_value:.3g}{holm} <= alpha {gate.alpha:g} "
        f"({counts.b} regressed vs {counts.c} improved)"
    )


def _pass_reason(stats: PairedStats, gate: GateConfig) -> str:
    if gate.margin > 0:
        return (
            f"non-inferior: the {1 - gate.alpha:.0%} lower bound of the delta, {_pts(stats.lower)}, "
            f"is above -margin ({_pts(-gate.margin)})"
        )
    return f"no significant regression (one-sided exact McNemar p = {stats.p_value:.3g}, alpha {gate.alpha:g})"


def _pts(delta: float) -> str:
    return f"{delta * 100:+.1f} pts"


def session_exit_status(pytest_status: int, *, ordinary_failed: bool, gate: GateResult) -> int:
    """The exit status under ``--pc-gate``.

    pytest's own non-test statuses (interrupted, internal or usage error, nothing collected) stand;
    failing ordinary tests keep exit 1; otherwise the gate's status replaces that of the prompt items.
    """
    if pytest_status not in (0, 1):
        return pytest_status
    if ordinary_failed:
        return 1
    return gate.exit_status


def threshold_exit_status(pytest_status: int, breaches: Sequence[Breach]) -> int:
    """Without ``--pc-gate``: a broken threshold fails an otherwise green session."""
    return 1 if breaches and pytest_status == 0 else pytest_status
