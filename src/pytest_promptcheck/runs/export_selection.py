"""Which calls an export turns into rows, with what target, and which file each row goes to.

One implementation for the export (:func:`..outputs.export.export_calls` builds each row in its
format and writes the files) and for the data plan (:mod:`.data_plan`, which must count exactly
the rows the export writes). Pure functions of a run's item records. Every row has a source,
counted in the export manifest:

- ``failing``: a failing call of the exported side (one per distinct rendered prompt; of a
  conversation its first failing turn; among the calls that failed on one prompt the candidate's,
  then the baseline's, then other models by name, and of a case's repeats the first failing sample);
- ``variant-added`` (``variants = all``): every other rendered prompt of a failing case on that side
  (other prompt variants, other counterfactual values), so a fine-tune learns the task, not one wording;
- ``rehearsal`` (``rehearsal = F``): prompts of cases that pass on the exported side, drawn with the
  seed until they are the share F of the training file, so a fine-tune on failures keeps what works.

:func:`select` runs the whole choice: sources, the caller's row builder (None: no row), ``balance``,
the split by case (whole cases go to validation), then the rehearsal draw for the training file.
Sampling (balance, split, rehearsal) uses ``random.Random`` seeded from the export seed and walks
lists in a fixed order, so one seed always gives the same file.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from .record import CallRecord, ItemRecord

SOURCES = ("failing", "variant-added", "rehearsal")
UNTAGGED = "(untagged)"
_SIDE_ORDER = {"candidate": 0, "baseline": 1}
_DONOR_ORDER = {"baseline": 0, "candidate": 1}  # whose passing output a target takes first
T = TypeVar("T")
Failing = tuple[ItemRecord, CallRecord]  # a failing call with the item it belongs to


class Choices(Protocol):
    """What each row contains (``outputs.export_choices.ExportChoices``, or the plan's ``PlanExport``)."""

    @property
    def target(self) -> str: ...
    @property
    def variants(self) -> str: ...
    @property
    def rehearsal(self) -> float: ...
    @property
    def balance(self) -> str: ...


@dataclass(frozen=True)
class Source:
    """One call that may become a row: where it comes from and its target (None: there is none)."""

    kind: str  # one of SOURCES
    record: ItemRecord
    call: CallRecord
    target: str | None

    @property
    def suite(self) -> str:
        return self.record.suite

    @property
    def case(self) -> str:
        return self.record.case

    @property
    def weakness(self) -> str:
        """The weakness a row counts toward when balancing: the case's first tag."""
        return self.record.tags[0] if self.record.tags else UNTAGGED

    def order(self) -> tuple[str, ...]:
        return (self.suite, self.case, self.record.variant, str(self.call.binding), self.record.model)


def prompt_of(call: CallRecord) -> str:
    return json.dumps(list(call.messages), sort_keys=True)


def sources(records: Sequence[ItemRecord], failing: Sequence[Failing], side: str, choices: Choices) -> list[Source]:
    """The failing calls (in their order), then variant-added prompts, then the rehearsal pool, each with its target."""
    donors = _passing_outputs(records) if choices.target != "ideal" else {}

    def source(kind: str, record: ItemRecord, call: CallRecord) -> Source:
        return Source(kind, record, call, _target(choices.target, record, call, donors))

    found = [source("failing", r, c) for r, c in failing]
    used = {prompt_of(c) for _, c in failing}
    mine = sorted(
        (r for r in records if side == "all" or r.side == side),
        key=lambda r: (_SIDE_ORDER.get(r.side or "", 2), r.model, r.suite, r.case, r.variant),
    )
    failing_cases = {(r.suite, r.case) for r, _ in failing}
    if choices.variants == "all":
        others = [(r, c) for r in mine if (r.suite, r.case) in failing_cases for c in _by_sample(r.calls)]
        found += [source("variant-added", r, c) for r, c in _first_per_prompt(others, used)]
    if choices.rehearsal > 0:
        outcomes: dict[tuple[str, str], set[str]] = {}
        for record in mine:
            outcomes.setdefault((record.suite, record.case), set()).add(record.outcome)
        passing = {case for case, seen in outcomes.items() if seen == {"passed"} and case not in failing_cases}
        calls = [(r, c) for r in mine if (r.suite, r.case) in passing for c in _by_sample(r.calls) if c.passed]
        found += [source("rehearsal", r, c) for r, c in _first_per_prompt(calls, used)]
    return found


def _by_sample(calls: Iterable[CallRecord]) -> list[CallRecord]:
    return sorted(calls, key=lambda c: (c.sample, str(c.binding)))


def _first_per_prompt(
    calls: Iterable[tuple[ItemRecord, CallRecord]], used: set[str]
) -> list[tuple[ItemRecord, CallRecord]]:
    """The first call of each rendered prompt not in ``used`` (which grows), in case order."""
    kept = []
    for record, call in calls:
        key = prompt_of(call)
        if key not in used:
            used.add(key)
            kept.append((record, call))
    return sorted(kept, key=lambda rc: (rc[0].suite, rc[0].case, rc[0].variant, str(rc[1].binding)))


def _passing_outputs(records: Sequence[ItemRecord]) -> dict[tuple[str, str, str, str], str]:
    """(suite, case, variant, rendered prompt) -> the output of a model that passed it (the baseline's first)."""
    calls = [(r, c) for r in records for c in r.calls if c.passed and c.output]
    calls.sort(key=lambda rc: (_DONOR_ORDER.get(rc[0].side or "", 2), rc[0].model, rc[1].sample))
    donors: dict[tuple[str, str, str, str], str] = {}
    for record, call in calls:
        donors.setdefault((record.suite, record.case, record.variant, prompt_of(call)), str(call.output))
    return donors


def _target(
    kind: str, record: ItemRecord, call: CallRecord, donors: dict[tuple[str, str, str, str], str]
) -> str | None:
    passing = donors.get((record.suite, record.case, record.variant, prompt_of(call)))
    if kind == "ideal":
        return record.ideal
    if kind == "passing":
        return passing
    return record.ideal or passing  # ideal-or-passing


def balance(rows: list[tuple[Source, T]], seed: int) -> tuple[list[tuple[Source, T]], dict[str, dict[str, int]]]:
    """Rows capped per weakness at the median count of rows per weakness (rounded up).

    Failing rows are kept before variant-added ones; where a weakness still has too many, those
    kept are drawn with the seed. Returns the kept rows (in their order) and per weakness the
    counts before and after.
    """
    by_weakness: dict[str, list[int]] = {}
    for index, (source, _) in enumerate(rows):
        by_weakness.setdefault(source.weakness, []).append(index)
    if not by_weakness:
        return rows, {}
    cap = math.ceil(statistics.median(len(v) for v in by_weakness.values()))
    rng = random.Random(f"balance:{seed}")
    kept: set[int] = set()
    for weakness in sorted(by_weakness):
        indices = by_weakness[weakness]
        for kind in SOURCES:
            room = cap - sum(1 for i in indices if i in kept)
            of_kind = [i for i in indices if rows[i][0].kind == kind]
            kept.update(of_kind if len(of_kind) <= room else rng.sample(of_kind, max(room, 0)))
    counts = {w: {"before": len(v), "after": sum(1 for i in v if i in kept)} for w, v in sorted(by_weakness.items())}
    return [row for i, row in enumerate(rows) if i in kept], counts


def tag_counts(rows: Iterable[tuple[Source, Any]]) -> dict[str, dict[str, int]]:
    """Rows per weakness when nothing is balanced (before == after)."""
    counts: dict[str, int] = {}
    for source, _ in rows:
        counts[source.weakness] = counts.get(source.weakness, 0) + 1
    return {w: {"before": n, "after": n} for w, n in sorted(counts.items())}


def rehearsal_sample(pool: list[T], share: float, rows: int, seed: int) -> tuple[list[T], int]:
    """(the rehearsal rows drawn from ``pool``, how many the share wanted) for a training file of ``rows`` others.

    ``share`` of the training file's rows come from the pool: wanted = round(share * rows / (1 - share)).
    """
    if share <= 0 or rows == 0:
        return [], 0
    wanted = round(share * rows / (1 - share))
    drawn = pool if wanted >= len(pool) else random.Random(f"rehearsal:{seed}").sample(pool, wanted)
    return drawn, wanted


def ordered(rows: Iterable[tuple[Source, T]], key: Callable[[Source], Any] = Source.order) -> list[tuple[Source, T]]:
    """Rows in case order (the file's order whatever the sources)."""
    return sorted(rows, key=lambda sr: key(sr[0]))


def has_target(source: Source) -> bool:
    """Whether a source has something to train on: a target, or (a failing call) the case's ideal tool call."""
    return source.target is not None or (source.kind == "failing" and source.record.ideal_tool_call is not None)


def failing_calls(records: Iterable[ItemRecord], side: str) -> tuple[list[Failing], int]:
    """(one failing call per distinct rendered prompt, in case order; the failing calls considered)."""
    failing = [(r, c) for r in records if side == "all" or r.side == side for c in r.calls if c.passed is False]
    failing = first_failing_turns(failing)  # a conversation's target is its first failing turn's answer
    considered = len(failing)
    # Deterministic whatever order the reports came in (xdist): side, model, sample, then the case.
    failing.sort(key=lambda rc: (_SIDE_ORDER.get(rc[0].side or "", 2), rc[0].model, rc[1].sample, _order(rc)))
    by_prompt: dict[str, Failing] = {}
    for record, call in failing:
        by_prompt.setdefault(prompt_of(call), (record, call))
    return sorted(by_prompt.values(), key=_order), considered


def _order(failing: Failing) -> tuple[str, ...]:
    record, call = failing
    return (record.suite, record.case, record.variant, str(call.binding), record.model)


def first_failing_turns(failing: list[Failing]) -> list[Failing]:
    """Of a conversation's failing turns only the first: the case's target is the answer there."""
    seen: set[tuple[str, int, str]] = set()
    kept = []
    for record, call in sorted(failing, key=lambda rc: rc[1].turn or 0):
        if call.turn is not None:
            key = (record.item, call.sample, json.dumps(call.binding, sort_keys=True, default=str))
            if key in seen:
                continue
            seen.add(key)
        kept.append((record, call))
    return kept


def split_by_case(
    rows: list[tuple[Source, T]], share: float | None, seed: int
) -> tuple[list[tuple[Source, T]], list[tuple[Source, T]]]:
    """(train, validation): whole cases go to validation (no case on both sides: every prompt variant and
    counterfactual value of a case lands on one side), drawn with ``seed``."""
    if share is None or share >= 1 or not rows:
        return list(rows), []
    cases = sorted({(r.suite, r.case) for r, _ in rows})
    random.Random(seed).shuffle(cases)
    wanted = len(rows) - round(len(rows) * share)
    held: set[tuple[str, str]] = set()
    counts = {case: sum(1 for r, _ in rows if (r.suite, r.case) == case) for case in cases}
    taken = 0
    for case in cases:
        if taken >= wanted or len(held) == len(cases) - 1:  # the training file keeps at least one case
            break
        held.add(case)
        taken += counts[case]
    train = [(r, row) for r, row in rows if (r.suite, r.case) not in held]
    validation = [(r, row) for r, row in rows if (r.suite, r.case) in held]
    return train, validation


@dataclass(frozen=True)
class Selection(Generic[T]):
    """The rows an export writes, each with its source, in the files' order."""

    train: list[tuple[Source, T]]  # rehearsal rows included
    validation: list[tuple[Source, T]]
    dropped: list[Source]  # sources the builder made no row of (no target, or a format's rule)
    failing: int  # failing calls considered (before one per rendered prompt)
    tags: dict[str, dict[str, int]]  # weakness -> rows before/after balance (rehearsal rows not counted)
    rehearsal_pool: int  # rows of passing cases the rehearsal could draw from
    rehearsal_wanted: int  # rows the rehearsal share asked for

    def counts(self) -> dict[str, int]:
        """Rows written per source (``SOURCES``)."""
        found: dict[str, int] = {}
        for source, _ in self.train + self.validation:
            found[source.kind] = found.get(source.kind, 0) + 1
        return found


def select(
    records: Sequence[ItemRecord], side: str, choices: Choices, *, split: float | None, seed: int,
    build: Callable[[Source], T | None],
) -> Selection[T]:  # fmt: skip
    """The export's rows: ``build`` makes each source's row in the caller's form (None: no row for it)."""
    chosen, considered = failing_calls(records, side)
    rows: list[tuple[Source, T]] = []
    pool: list[tuple[Source, T]] = []  # rehearsal rows to draw from
    dropped: list[Source] = []
    for source in sources(records, chosen, side, choices):
        row = build(source)
        if row is None:
            dropped.append(source)
        else:
            (pool if source.kind == "rehearsal" else rows).append((source, row))
    if choices.balance == "tag":
        rows, tags = balance(rows, seed)
    else:
        tags = tag_counts(rows)
    train, validation = split_by_case(rows, split, seed)
    rehearsal, wanted = rehearsal_sample(pool, choices.rehearsal, len(train), seed)
    return Selection(ordered(train + rehearsal), ordered(validation), dropped, considered, tags, len(pool), wanted)
