"""Failure analysis: a run's failing items grouped into weaknesses (pure: records in, groups out).

A weakness is a group of failures that share something a person can act on:

- ``tag``: a tag of the failing case;
- ``assertion``: a failing assertion, as it reads in failure output (``json_path {'path': '$.category',
  'equals': 'account'}``), with the JSON path, the expected value and what came instead (from the
  assertion record's ``details``);
- ``variant``: the prompt variant (only when the run has several);
- ``side``: for a baseline/candidate pair, which side fails a (case, variant): ``baseline only``,
  ``candidate only`` or ``both``.

Each has its counts (failing cases, items, calls), a few example cases (sorted by suite, case and
variant, so the same run always shows the same ones) with every analysed model's output, and the
(case, variant) slots it covers, which the data plan (:mod:`.data_plan`) reads. The candidate's
regressions (pass on the baseline, fail on the candidate) are set apart. Analysed models: the
baseline and the candidate when both ran, else every model.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .compare import REGRESSION, Pair, pair_up
from .record import ItemRecord

KINDS = ("side", "tag", "assertion", "variant")
BASE_ONLY, CAND_ONLY, BOTH = "baseline only", "candidate only", "both"
SIDE_CLASSES = (CAND_ONLY, BOTH, BASE_ONLY)
Slot = tuple[str, str, str]  # (suite, case, variant): the unit a comparison pairs
_GOT_SHOWN = 5  # distinct wrong values listed per assertion


@dataclass(frozen=True)
class Seen:
    """One model's answer in an example."""

    model: str
    side: str | None
    outcome: str
    output: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Example:
    suite: str
    case: str
    variant: str
    tags: tuple[str, ...]
    seen: tuple[Seen, ...]  # the baseline first, then the candidate, then other models by name

    @property
    def label(self) -> str:
        return f"{self.suite}::{self.case} [{self.variant}]"


@dataclass(frozen=True)
class Weakness:
    kind: str  # one of KINDS
    key: str  # the tag, the assertion, the variant or the side class
    cases: int  # distinct failing (suite, case)
    items: int  # failing items (case × variant × model)
    calls: int  # failing calls (samples, counterfactual values)
    slots: tuple[Slot, ...]  # the failing (suite, case, variant), sorted
    sides: dict[str, int] = field(default_factory=dict)  # side class -> failing slots (paired runs only)
    path: str | None = None  # assertion: the JSON path it checks
    expected: Any = None  # assertion: the value it wanted
    got: dict[str, int] = field(default_factory=dict)  # assertion: the values found instead -> count
    examples: tuple[Example, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"

    @property
    def hint(self) -> str:
        """Where to look, from which side fails (empty without a baseline/candidate pair)."""
        if not self.sides:
            return ""
        worst = max(SIDE_CLASSES, key=lambda s: self.sides.get(s, 0))
        return {
            CAND_ONLY: "fails on the candidate only: the change broke it; if it was fine-tuned, look at the "
            "training data's labels for these inputs before adding more of them",
            BOTH: "fails on both sides: a known gap; training rows with a target (an `ideal`) can teach it",
            BASE_ONLY: "fails on the baseline only: the candidate fixed it",
        }[worst]


@dataclass(frozen=True)
class FailureAnalysis:
    models: tuple[str, ...]
    baseline: str | None
    candidate: str | None
    failing_items: int
    failing_cases: int
    failing_calls: int
    weaknesses: tuple[Weakness, ...]
    regressions: tuple[Example, ...]  # pass on the baseline, fail on the candidate
    pairs: tuple[Pair, ...] = field(default=(), repr=False)  # the compared (case, variant)s, for the data plan

    def of_kind(self, kind: str) -> list[Weakness]:
        return [w for w in self.weaknesses if w.kind == kind]

    def top(self, count: int) -> list[Weakness]:
        """The largest tag and assertion weaknesses (by failing cases), for a short listing."""
        found = [w for w in self.weaknesses if w.kind in ("tag", "assertion")]
        return sorted(found, key=lambda w: (-w.cases, -w.items, KINDS.index(w.kind), w.key))[:count]


def analyze(
    records: Iterable[ItemRecord], baseline: str | None = None, candidate: str | None = None, *, examples: int = 3,
    pairs: Iterable[Pair] | None = None,
) -> FailureAnalysis:  # fmt: skip
    """The weaknesses of a run (in any record order: the result does not depend on it).

    ``pairs``: the comparison's pairs when the caller has them (the run summary's), else paired here.
    """
    records = sorted(records, key=lambda r: r.item)
    present = {r.model for r in records}
    paired = bool(baseline and candidate and baseline in present and candidate in present)
    models = (baseline, candidate) if paired else tuple(sorted(present))
    analysed = [r for r in records if r.model in models]
    failing = [r for r in analysed if r.outcome == "failed"]
    if not (paired and baseline and candidate):
        pairs = []
    elif pairs is None:
        pairs = pair_up(analysed, baseline, candidate)[0]
    pairs = list(pairs)
    side_of = {(p.suite, p.case, p.variant): _side_class(p) for p in pairs}
    show = _Examples(analysed, examples)
    groups: dict[tuple[str, str], list[ItemRecord]] = defaultdict(list)
    variants = len({r.variant for r in analysed}) > 1
    for record in failing:
        for tag in record.tags:
            groups[("tag", tag)].append(record)
        for name in sorted({a.name for c in record.calls if c.passed is False for a in c.assertions if not a.passed}):
            groups[("assertion", name)].append(record)
        if variants:
            groups[("variant", record.variant)].append(record)
        side = side_of.get(_slot(record))
        if side:
            groups[("side", side)].append(record)
    weaknesses = [_weakness(kind, key, found, side_of, show) for (kind, key), found in groups.items()]
    weaknesses.sort(key=lambda w: (KINDS.index(w.kind), -w.cases, -w.items, w.key))
    regressions = tuple(show.of(p.suite, p.case, p.variant) for p in pairs if p.kind == REGRESSION)
    return FailureAnalysis(
        models=tuple(m for m in models if m), baseline=baseline if paired else None,
        candidate=candidate if paired else None, failing_items=len(failing),
        failing_cases=len({(r.suite, r.case) for r in failing}), failing_calls=sum(_failed_calls(r) for r in failing),
        weaknesses=tuple(weaknesses), regressions=regressions, pairs=tuple(pairs),
    )  # fmt: skip


def _slot(record: ItemRecord) -> Slot:
    return (record.suite, record.case, record.variant)


def _side_class(pair: Pair) -> str | None:
    base, cand = pair.baseline.passed, pair.candidate.passed
    if base and cand:
        return None
    return BOTH if not base and not cand else (CAND_ONLY if base else BASE_ONLY)


def _failed_calls(record: ItemRecord) -> int:
    return sum(c.passed is False for c in record.calls)


def _weakness(
    kind: str, key: str, records: list[ItemRecord], side_of: dict[Slot, str | None], show: _Examples
) -> Weakness:
    slots = sorted({_slot(r) for r in records})
    sides = Counter(side for s in slots if (side := side_of.get(s)))
    path, expected, got = _assertion_detail(key, records) if kind == "assertion" else (None, None, {})
    return Weakness(
        kind=kind, key=key, cases=len({(r.suite, r.case) for r in records}), items=len(records),
        calls=sum(_failed_calls(r) for r in records), slots=tuple(slots),
        sides={s: sides[s] for s in SIDE_CLASSES if sides[s]}, path=path, expected=expected, got=got,
        examples=tuple(show.of(*s) for s in slots[: show.count]),
    )  # fmt: skip


def _assertion_detail(name: str, records: list[ItemRecord]) -> tuple[str | None, Any, dict[str, int]]:
    """The JSON path and expected value of a failing assertion, and the values found instead."""
    path, expected, got = None, None, Counter[str]()
    for record in records:
        for call in record.calls:
            for verdict in call.assertions:
                if verdict.name != name or verdict.passed:
                    continue
                details = verdict.details or {}
                path = path or details.get("path")
                expected = expected if expected is not None else details.get("expected")
                if "got" in details:
                    got[_shown(details["got"])] += 1
    return path, expected, dict(sorted(got.items(), key=lambda kv: (-kv[1], kv[0]))[:_GOT_SHOWN])


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


class _Examples:
    """Builds an example (every analysed model's answer on one slot) from the records."""

    def __init__(self, records: list[ItemRecord], count: int) -> None:
        self.count = count
        self.by_slot: dict[Slot, list[ItemRecord]] = defaultdict(list)
        for record in records:
            self.by_slot[_slot(record)].append(record)

    def of(self, suite: str, case: str, variant: str) -> Example:
        found = sorted(self.by_slot.get((suite, case, variant), []), key=_seen_order)
        seen = tuple(_seen(r) for r in found)
        tags = found[0].tags if found else ()
        return Example(suite, case, variant, tags, seen)


def _seen_order(record: ItemRecord) -> tuple[int, str]:
    return ({"baseline": 0, "candidate": 1}.get(record.side or "", 2), record.model)


def _seen(record: ItemRecord) -> Seen:
    call = record.shown_call()
    output = call.output if call is not None else None
    reasons = tuple(call.failed_reasons()) if call is not None else ()
    return Seen(record.model, record.side, record.outcome, output, reasons)
