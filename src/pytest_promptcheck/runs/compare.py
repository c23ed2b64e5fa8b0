"""Baseline vs candidate (SPEC §7): pairing per (case, prompt variant) and the paired statistics.

The unit of comparison is a (suite, case, variant) that ran on both sides with identical rendered
prompts and got a verdict on both; anything else is listed as unpaired and left out. Pairs are
improvements (fail→pass), regressions (pass→fail), known gaps (fail on both) or unchanged passes.

Statistics, all exact or closed form (see ``stats.py`` and ``notes/statistics.md``):

- significance (``variants = "pooled"``, the default): one exact one-sided test over all (case,
  variant) pairs with the case as the unit — a sign-flip test on each case's regressions minus
  improvements (``stats.sign_flip_one_sided``). Variants that agree count once, so alpha holds
  under any correlation between them and identical variants keep the power of one; with one
  variant per case it is the exact McNemar test. ``variants = "holm"``: exact McNemar per prompt
  variant, Holm-adjusted, the gate using the smallest adjusted p (each variant's pairs are one per
  case; Holm keeps the family's error rate at alpha but loses power when variants agree).
- the pass-rate delta over all pairs, with Tango's paired score interval. Variants of one case are
  correlated, so with several variants the counts are first divided by a design effect (Rao–Scott:
  the case-clustered variance of the delta over the variance that treats pairs as independent,
  at least 1); with one variant per case it is exactly 1. The interval reported is two-sided
  (1 − 2·alpha), i.e. its ends are the one-sided (1 − alpha) bounds the gate uses.
- per tag and per variant: counts, delta and an unadjusted McNemar p (descriptive).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .record import ItemRecord
from .stats import holm, mcnemar_one_sided, noninferiority_pairs, sign_flip_one_sided, tango_bound, z_quantile

REGRESSION, IMPROVEMENT, KNOWN_GAP, UNCHANGED = "regression", "improvement", "known gap", "unchanged"


@dataclass(frozen=True)
class Pair:
    """One (suite, case, variant) judged on both sides."""

    suite: str
    case: str
    variant: str
    tags: tuple[str, ...]
    baseline: ItemRecord
    candidate: ItemRecord

    @property
    def kind(self) -> str:
        before, after = self.baseline.passed, self.candidate.passed
        if before == after:
            return UNCHANGED if before else KNOWN_GAP
        return REGRESSION if before else IMPROVEMENT


@dataclass(frozen=True)
class Unpaired:
    suite: str
    case: str
    variant: str
    reason: str


@dataclass(frozen=True)
class Counts:
    """The 2×2 paired table: a both pass, b regressions, c improvements, d both fail."""

    a: int = 0
    b: int = 0
    c: int = 0
    d: int = 0

    @property
    def n(self) -> int:
        return self.a + self.b + self.c + self.d

    @property
    def baseline_rate(self) -> float:
        return (self.a + self.b) / self.n if self.n else 0.0

    @property
    def candidate_rate(self) -> float:
        return (self.a + self.c) / self.n if self.n else 0.0

    @property
    def delta(self) -> float:
        return (self.c - self.b) / self.n if self.n else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.a + other.a, self.b + other.b, self.c + other.c, self.d + other.d)


@dataclass(frozen=True)
class Group:
    """Paired counts of a variant or tag with its one-sided McNemar p (``adjusted``: Holm, variants)."""

    counts: Counts
    p_value: float
    adjusted: float | None = None


@dataclass(frozen=True)
class PairedStats:
    counts: Counts
    cases: int
    design_effect: float
    lower: float  # one-sided (1 − alpha) lower bound of the delta
    upper: float  # one-sided (1 − alpha) upper bound of the delta
    by_variant: dict[str, Group]
    alpha: float
    pooled_p: float  # the case-level sign-flip test over all pairs (exact McNemar with one variant)
    method: str = "pooled"  # what the gate tests with several variants: "pooled" or "holm"
    mid_p: bool = False
    on_samples: bool = False  # the pooled test compares shares of passing calls (items with several calls)

    @property
    def p_value(self) -> float:
        """The gate's significance: the pooled case-level test, or the smallest Holm-adjusted McNemar p."""
        if self.method == "pooled" or len(self.by_variant) < 2:
            return self.pooled_p
        return min((g.adjusted if g.adjusted is not None else g.p_value for g in self.by_variant.values()), default=1.0)

    def cases_needed(self, margin: float, power: float = 0.8) -> int | None:
        """About how many cases show non-inferiority at ``margin`` with ``power`` if the true delta is
        the observed one (Nam 1997, see ``stats.noninferiority_pairs``); None when the observed delta
        is at or below −margin, where no suite size can show it."""
        n = self.counts.n
        if not n:
            return None
        pairs = noninferiority_pairs(self.counts.b / n, self.counts.c / n, margin, alpha=self.alpha, power=power)
        if pairs is None:
            return None
        pairs_per_case = n / self.cases if self.cases else 1.0
        return math.ceil(pairs * self.design_effect / pairs_per_case)


@dataclass(frozen=True)
class Comparison:
    baseline: str
    candidate: str
    pairs: tuple[Pair, ...]
    unpaired: tuple[Unpaired, ...]
    stats: PairedStats
    by_tag: dict[str, Group]

    def of_kind(self, kind: str) -> list[Pair]:
        return [p for p in self.pairs if p.kind == kind]


def compare(
    records: list[ItemRecord], baseline: str, candidate: str, *, alpha: float, method: str = "pooled",
    mid_p: bool = False,
) -> Comparison:  # fmt: skip
    pairs, unpaired = pair_up(records, baseline, candidate)
    by_variant = {v: counts_of(ps) for v, ps in _grouped(pairs, lambda p: [p.variant]).items()}
    stats = paired_stats(by_variant, cases=len({(p.suite, p.case) for p in pairs}), alpha=alpha,
                         design_effect=design_effect(pairs), case_changes=case_changes(pairs), method=method,
                         sample_calls=max((len(p.baseline.judged_calls()) for p in pairs), default=1),
                         mid_p=mid_p)  # fmt: skip
    by_tag = {t: _group(counts_of(ps)) for t, ps in _grouped(pairs, lambda p: list(p.tags)).items()}
    return Comparison(baseline, candidate, tuple(pairs), tuple(unpaired), stats, by_tag)


def pair_up(records: list[ItemRecord], baseline: str, candidate: str) -> tuple[list[Pair], list[Unpaired]]:
    sides: dict[str, dict[tuple[str, str, str], ItemRecord]] = {baseline: {}, candidate: {}}
    for record in records:
        if record.model in sides:
            sides[record.model][(record.suite, record.case, record.variant)] = record
    pairs, unpaired = [], []
    for key in sorted(set(sides[baseline]) | set(sides[candidate])):
        base, cand = sides[baseline].get(key), sides[candidate].get(key)
        reason = _unpaired_reason(base, cand, baseline, candidate)
        if reason or base is None or cand is None:
            unpaired.append(Unpaired(*key, reason=reason or "?"))
        else:
            pairs.append(Pair(*key, tags=base.tags, baseline=base, candidate=cand))
    return pairs, unpaired


def _unpaired_reason(base: ItemRecord | None, cand: ItemRecord | None, baseline: str, candidate: str) -> str | None:
    if base is None or cand is None:
        return f"ran on {candidate if base is None else baseline} only"
    for name, record in ((baseline, base), (candidate, cand)):
        if not record.judged:
            return f"no verdict on {name} ({record.outcome})"
    if _prompts(base) != _prompts(cand):
        return "rendered prompts differ between the sides"
    return None


def _prompts(record: ItemRecord) -> list[tuple[int, str, str]]:
    """What both sides must have been sent alike: a conversation's later turns hold each model's own replies."""
    first = (c for c in record.calls if c.turn is None or c.turn == 1)
    return sorted((c.sample, repr(sorted(c.binding.items())), repr(list(c.messages))) for c in first)


def _grouped(pairs: Iterable[Pair], keys: Any) -> dict[str, list[Pair]]:
    groups: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        for key in keys(pair):
            groups[key].append(pair)
    return dict(sorted(groups.items()))


def counts_of(pairs: Iterable[Pair]) -> Counts:
    kinds = [p.kind for p in pairs]
    return Counts(kinds.count(UNCHANGED), kinds.count(REGRESSION), kinds.count(IMPROVEMENT), kinds.count(KNOWN_GAP))


def _group(counts: Counts) -> Group:
    return Group(counts, mcnemar_one_sided(counts.b, counts.c))


def paired_stats(
    by_variant: dict[str, Counts], *, cases: int, alpha: float, design_effect: float = 1.0,
    case_changes: list[int] | None = None, method: str = "pooled", mid_p: bool = False, sample_calls: int = 1,
) -> PairedStats:  # fmt: skip
    """Everything the gate needs from the per-variant tables (one table per variant, one pair per case).

    ``case_changes``: per case, what :func:`case_changes` gives (default: every pair its own case);
    ``sample_calls``: the most calls an item made (> 1: the changes are shares of passing calls).
    """
    total = sum(by_variant.values(), Counts())
    raw = {v: mcnemar_one_sided(c.b, c.c, mid_p=mid_p) for v, c in by_variant.items()}
    adjusted = holm(raw) if len(raw) > 1 else {}
    groups = {v: Group(c, raw[v], adjusted.get(v)) for v, c in by_variant.items()}
    z = z_quantile(1 - alpha)
    b, c, n = (x / design_effect for x in (total.b, total.c, total.n))
    lower, upper = tango_bound(b, c, n, z), tango_bound(b, c, n, -z)
    changes = case_changes if case_changes is not None else [1] * total.b + [-1] * total.c
    pooled = sign_flip_one_sided(changes, mid_p=mid_p)
    on_samples = case_changes is not None and sample_calls > 1
    return PairedStats(total, cases, design_effect, lower, upper, groups, alpha, pooled, method, mid_p, on_samples)


def case_changes(pairs: list[Pair]) -> list[int]:
    """Per (suite, case), over its prompt variants: its regressions minus its improvements, or, when items
    make several calls (repeats, counterfactual values), the drop in the share of passing calls.

    Shares are scaled to integers (by the least common multiple of the call counts) so the sign-flip
    test stays exact; they use what the item verdict throws away (a case passing 4 of 5 samples on
    the baseline and 1 of 5 on the candidate is a larger change than one passing 5 and 4), which
    makes the test more powerful with repeats and keeps it exact under "no difference".
    """
    counts = [len(p.baseline.judged_calls()) for p in pairs]
    scale = math.lcm(*counts) if counts and max(counts) > 1 and min(counts) > 0 else 0
    per_case: dict[tuple[str, str], int] = defaultdict(int)
    for pair in pairs:
        if scale:
            per_case[(pair.suite, pair.case)] += _passing(pair.baseline, scale) - _passing(pair.candidate, scale)
        else:
            per_case[(pair.suite, pair.case)] += {REGRESSION: 1, IMPROVEMENT: -1}.get(pair.kind, 0)
    return list(per_case.values())


def _passing(record: ItemRecord, scale: int) -> int:
    """The share of the record's judged calls that passed, times ``scale`` (an integer: scale is a multiple)."""
    judged = record.judged_calls()
    return sum(bool(c.passed) for c in judged) * scale // len(judged)


def design_effect(pairs: list[Pair]) -> float:
    """Case-clustered over independent-pairs variance of the delta (Rao–Scott), floored at 1."""
    per_case: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pair in pairs:
        change = {REGRESSION: -1, IMPROVEMENT: 1}.get(pair.kind, 0)
        per_case[(pair.suite, pair.case)].append(change)
    if all(len(changes) == 1 for changes in per_case.values()):
        return 1.0
    n = len(pairs)
    delta = sum(map(sum, per_case.values())) / n
    discordant = sum(abs(x) for changes in per_case.values() for x in changes)
    independent = (discordant / n - delta * delta) / n
    clustered = sum((sum(ch) - delta * len(ch)) ** 2 for ch in per_case.values()) / (n * n)
    return max(1.0, clustered / independent) if independent > 0 else 1.0
