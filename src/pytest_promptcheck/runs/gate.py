"""The checkpoint gate (SPEC §7): one verdict from the comparison, and the session's exit status.

Two rules, by ``margin``; verdicts and exit statuses by precedence (the first that applies wins)::

    regressed       1  a ``critical`` case regressed (and, where outputs are sampled, the regression
                       reproduced in ``confirm`` re-samples), or a suite metric threshold breaks on
                       the candidate, or a gated run beyond ``max_attempts`` against this baseline;
                       margin = 0: the one-sided exact test (cases as units, see ``compare``) is
                       significant at ``alpha``;
                       margin > 0: the one-sided (1 − alpha) upper bound of the delta is below −margin
    infrastructure  7  items on either side got no verdict (provider errors, crashing checks, a judge
                       whose answer could not be read)
    inconclusive    6  margin > 0 and the (1 − alpha) lower bound of the delta is not above −margin;
                       0 with ``on_inconclusive = "pass"``
    pass            0  otherwise (with margin > 0: the candidate is shown non-inferior)

With ``margin > 0`` there is no test against Δ = 0: a drop inside the margin is what the user
declared acceptable. With ``--pc-gate`` the gate decides the prompt items' share of the exit
status; ordinary tests and collection errors keep theirs (``session_exit_status``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

from ..config import GateConfig
from .compare import Pair, PairedStats
from .stats import mcnemar_power, noninferiority_power
from .thresholds import Breach

NOISE = 0.05  # the verdict noise per sample the exposure line assumes for scale
TRUE_REGRESSION = 0.05  # the regression the attempts line asks about: 5 points


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
class Attempts:
    """Candidates gated against the same baseline on the same suites, this one included."""

    number: int  # this candidate is attempt `number` (1: no other one in the run history)
    pass_chance: float  # chance a true 5-point regression passes one attempt at this suite's size

    @property
    def any_pass_chance(self) -> float:
        return 1 - (1 - self.pass_chance) ** self.number


@dataclass(frozen=True)
class GateResult:
    verdict: GateVerdict
    exit_status: int
    reasons: tuple[str, ...]
    cases_needed: int | None = None  # only when inconclusive and a suite size can show it
    rule: str = ""  # which rule applied, in words
    notes: tuple[str, ...] = ()  # exposure and attempts: what the verdict does not say by itself
    attempts: Attempts | None = None  # counted for enforced gates only


def decide(
    stats: PairedStats,
    gate: GateConfig,
    *,
    critical: Sequence[Pair] = (),
    unconfirmed: Sequence[Pair] = (),
    breaches: Sequence[Breach] = (),
    errors: int = 0,
    unreadable: int = 0,
    sampled_critical: int = 0,
    attempts: Attempts | None = None,
) -> GateResult:
    """The gate's verdict.

    ``critical``: regressed critical pairs that count (confirmed where sampled); ``unconfirmed``:
    those whose regression did not reproduce; ``errors``: items without verdict, ``unreadable`` of
    them because a judge's answer could not be read; ``sampled_critical``: critical cases whose
    outputs are sampled; ``attempts``: this run's place among gated runs against the baseline.
    """
    result = _decide(stats, gate, critical, breaches, errors, unreadable, attempts)
    notes = _notes(gate, unconfirmed, sampled_critical, attempts)
    return replace(result, rule=_rule(stats, gate), notes=notes, attempts=attempts)


def _decide(
    stats: PairedStats, gate: GateConfig, critical: Sequence[Pair], breaches: Sequence[Breach], errors: int,
    unreadable: int, attempts: Attempts | None,
) -> GateResult:  # fmt: skip
    regressions = _regression_reasons(stats, gate, critical, breaches, attempts)
    if regressions:
        return GateResult(GateVerdict.REGRESSED, 1, tuple(regressions))
    if errors:
        why = f"{errors} item(s) on the baseline or candidate got no verdict"
        if unreadable:
            why += f" ({unreadable} judge unreadable: the grader's answer could not be read, even when asked again)"
        why += "; those cases are not compared"
        return GateResult(GateVerdict.INFRASTRUCTURE, 7, (why,))
    if gate.margin > 0 and not stats.lower > -gate.margin:
        needed = stats.cases_needed(gate.margin)
        why = (
            f"non-inferiority not shown: the {1 - gate.alpha:.0%} lower bound of the delta, {_pts(stats.lower)}, "
            f"is not above -margin ({_pts(-gate.margin)}); "
        )
        if needed is None:
            why += (
                f"it cannot be shown at this delta ({_pts(stats.counts.delta)} is at or below -margin): "
                "more cases would not change that"
            )
        else:
            why += f"about {needed} cases needed (have {stats.cases}) if the true delta is the observed one"
        status = 0 if gate.on_inconclusive == "pass" else 6
        return GateResult(GateVerdict.INCONCLUSIVE, status, (why,), needed)
    return GateResult(GateVerdict.PASS, 0, (_pass_reason(stats, gate),))


def _rule(stats: PairedStats, gate: GateConfig) -> str:
    if gate.margin > 0:
        conf = f"{1 - gate.alpha:.0%}"
        return (
            f"rule: non-inferiority, margin {gate.margin * 100:.1f} pts: regressed when the {conf} upper bound of the "
            f"delta is below -margin, pass when the {conf} lower bound is above it, else inconclusive "
            "(no test against 0)"
        )
    return f"rule: regression test (margin 0): {_test_name(stats)} at alpha {gate.alpha:g}"


def _test_name(stats: PairedStats) -> str:
    mid = ", mid-p" if stats.mid_p else ""
    if stats.on_samples and (stats.method == "pooled" or len(stats.by_variant) < 2):
        return f"one-sided exact sign-flip test over cases on the share of passing calls{mid}"
    if len(stats.by_variant) < 2 or stats.cases == stats.counts.n:
        return f"one-sided exact McNemar{mid}"
    if stats.method == "holm":
        return f"one-sided exact McNemar per prompt variant, Holm-adjusted{mid}"
    return f"one-sided exact sign-flip test over cases (variants pooled){mid}"


def _regression_reasons(
    stats: PairedStats,
    gate: GateConfig,
    critical: Sequence[Pair],
    breaches: Sequence[Breach],
    attempts: Attempts | None,
) -> list[str]:
    reasons = [f"critical case {p.case!r} [{p.variant}] in {p.suite} regressed" for p in critical]
    if gate.margin > 0 and stats.upper < -gate.margin:
        reasons.append(
            f"worse than the margin: the {1 - gate.alpha:.0%} upper bound of the delta, {_pts(stats.upper)}, "
            f"is below -margin ({_pts(-gate.margin)})"
        )
    elif gate.margin == 0 and stats.p_value <= gate.alpha:
        reasons.append(_significance_reason(stats, gate))
    reasons += [f"threshold: {b.line()}" for b in breaches]
    if attempts is not None and gate.max_attempts and attempts.number > gate.max_attempts:
        reasons.append(
            f"attempt {attempts.number} against this baseline on these suites exceeds max_attempts "
            f"{gate.max_attempts}: re-gating until a pass lets regressions through"
        )
    return reasons


def _significance_reason(stats: PairedStats, gate: GateConfig) -> str:
    counts = stats.counts
    per_variant = stats.method == "holm" and len(stats.by_variant) > 1
    name = f"one-sided exact McNemar{', mid-p' if stats.mid_p else ''}" if per_variant else _test_name(stats)
    holm = " (Holm-adjusted across prompt variants)" if per_variant else ""
    return (
        f"significant regression: {name} p = {stats.p_value:.3g}{holm} <= alpha {gate.alpha:g} "
        f"({counts.b} regressed vs {counts.c} improved)"
    )


def _pass_reason(stats: PairedStats, gate: GateConfig) -> str:
    if gate.margin > 0:
        return (
            f"non-inferior: the {1 - gate.alpha:.0%} lower bound of the delta, {_pts(stats.lower)}, "
            f"is above -margin ({_pts(-gate.margin)})"
        )
    return f"no significant regression ({_test_name(stats)} p = {stats.p_value:.3g}, alpha {gate.alpha:g})"


def _notes(
    gate: GateConfig, unconfirmed: Sequence[Pair], sampled_critical: int, attempts: Attempts | None
) -> tuple[str, ...]:
    notes = [
        f"critical case {p.case!r} [{p.variant}] in {p.suite} regressed once but not in its {gate.confirm} "
        "re-samples: not counted (confirm)"
        for p in unconfirmed
    ]
    if sampled_critical:
        plain, confirmed = (
            critical_false_alarm(sampled_critical, 0),
            critical_false_alarm(sampled_critical, gate.confirm),
        )
        notes.append(
            f"{sampled_critical} critical case(s) have sampled outputs (temperature > 0, repeats or a judge): at "
            f"{NOISE:.0%} verdict noise an unchanged model fails the gate on one of them {plain:.0%} of the time "
            + (f"without confirmation, {confirmed:.1%} with confirm = {gate.confirm}" if gate.confirm else
               "(confirm = 0: set [tool.promptcheck.gate] confirm = 3 to re-sample a regressed critical case)")
        )  # fmt: skip
    if attempts is not None and attempts.number > 1:
        notes.append(
            f"attempt {attempts.number} against this baseline on these suites (other candidates gated in the run "
            f"history): a true 5-point regression passes one attempt with probability {attempts.pass_chance:.0%}, "
            f"at least one of {attempts.number} with {attempts.any_pass_chance:.0%}"
        )
    return tuple(notes)


def critical_false_alarm(cases: int, confirm: int, noise: float = NOISE) -> float:
    """Chance that ``cases`` unchanged, passing critical cases fail the gate through verdict noise alone.

    A noise regression needs the baseline's verdict kept and the candidate's flipped; with ``confirm``
    re-samples per side it counts only when the majority of each side's re-samples agree with it.
    """
    once = (1 - noise) * noise
    if confirm:
        once *= _majority(confirm, noise) * _majority(confirm, 1 - noise)
    return 1 - (1 - once) ** cases


def reproduced(baseline: Sequence[bool], candidate: Sequence[bool]) -> bool:
    """A regression reproduces when most of the baseline's re-samples pass and most of the candidate's fail
    (a side without re-samples agrees)."""
    return (not baseline or 2 * sum(baseline) > len(baseline)) and (
        not candidate or 2 * (len(candidate) - sum(candidate)) > len(candidate)
    )


def _majority(k: int, p: float) -> float:
    """P(more than half of k samples come out as the one of probability p)."""
    return sum(math.comb(k, j) * p**j * (1 - p) ** (k - j) for j in range(k // 2 + 1, k + 1))


def regression_pass_chance(stats: PairedStats, gate: GateConfig, delta: float = -TRUE_REGRESSION) -> float:
    """Chance that a true regression of ``delta`` passes this gate at this suite's size and discordance."""
    n = stats.counts.n / max(stats.design_effect, 1.0)
    psi = max((stats.counts.b + stats.counts.c) / stats.counts.n if stats.counts.n else 0.0, -delta)
    regress, improve = (psi - delta) / 2, (psi + delta) / 2
    if gate.margin > 0:
        return noninferiority_power(n, regress, improve, gate.margin, alpha=gate.alpha)
    return 1 - mcnemar_power(n, regress, improve, alpha=gate.alpha)


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
