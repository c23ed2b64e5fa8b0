"""The data plan: per weakness, what an export would train on and whether the next gate can see a gain.

Per weakness (:mod:`.weaknesses`), on the exported side (``--pc-export-side``):

- **failing cases** and **rows**: one per failing call with a distinct rendered prompt (the export's
  rule, SPEC §10); a row is *ideal* (the case has an ``ideal``), *passing* (no ``ideal``, but another
  model passed the same case, variant and rendered prompt: a target for ``target = passing``), or
  *needs a label* (neither);
- **to train**: the rows the export writes with the current target (``ideal``, ``passing`` or
  ``ideal-or-passing``) and the cases they come from;
- **held out**: the weakness's cases in the suite that no training row comes from: only they can
  show, at the next gate, that a fine-tune learned the weakness rather than memorised its rows;
- **cases to detect a gain**: the cases a paired one-sided McNemar test at the gate's ``alpha``
  needs to detect a gain of ``gain`` with ``power`` (Connor 1987, ``stats.connor_pairs``; the case
  is the unit). The discordant share ψ is the weakness's observed baseline/candidate discordance,
  at least ``gain`` (the least a gain of that size needs; also the value without a pair). Not the
  gate's non-inferiority "cases needed", which is about the current delta and the margin.
- **memorisation trap**: every failing case of a side class, tag or assertion weakness would become
  training data, so the gate has no held-out failing case for it: it would measure recall of the
  training rows. (A prompt variant spans the suite: it is not flagged.)

With ``split`` (``--pc-export-split``) the export sends whole cases to validation (seeded), so about
``1 − split`` of the exported cases are held out; the plan counts the expected number.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..analysis_config import AnalysisConfig
from .compare import Pair
from .record import CallRecord, ItemRecord
from .stats import connor_pairs, mcnemar_power
from .weaknesses import FailureAnalysis, Slot, Weakness

TARGETS = ("ideal", "passing", "ideal-or-passing")
# A prompt variant spans the whole suite (its passing cases still measure): not flagged as a trap.
TRAP_KINDS = ("side", "tag", "assertion")
IDEAL, PASSING, LABEL = "ideal", "passing", "needs label"


@dataclass(frozen=True)
class PlanExport:
    """The export choices the plan follows (the ``--pc-export-*`` options, or the CLI's flags)."""

    side: str | None = None  # None: candidate when the run has one, else all
    split: float | None = None
    target: str = "ideal"


@dataclass(frozen=True, eq=False)  # compared by identity: one row is one failing call
class Row:
    """One row an export would make from a failing call."""

    record: ItemRecord
    call: CallRecord
    source: str  # IDEAL, PASSING or LABEL

    @property
    def slot(self) -> Slot:
        return (self.record.suite, self.record.case, self.record.variant)


@dataclass(frozen=True)
class WeaknessPlan:
    kind: str
    key: str
    failing_cases: int  # on the exported side
    ideal_rows: int
    passing_rows: int
    needs_label: int
    train_rows: int  # with the current target
    train_cases: int
    suite_cases: int  # the weakness's cases in the suite (passing or failing)
    held_out: float  # suite cases no training row comes from (expected value with a split)
    held_out_failing: float  # of them, the failing ones: the cases that can show a gain
    discordance: float  # ψ used for cases_to_detect
    cases_to_detect: int
    power_now: float  # the chance the held-out cases detect the gain
    trap: bool
    hint: str

    @property
    def enough(self) -> bool:
        return self.held_out >= self.cases_to_detect

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"


@dataclass(frozen=True)
class DataPlan:
    side: str
    target: str
    split: float | None
    gain: float
    power: float
    alpha: float
    rows: tuple[Row, ...]  # every row of the exported side, sorted
    weaknesses: tuple[WeaknessPlan, ...]

    def train(self) -> list[Row]:
        return [r for r in self.rows if r.source in _SOURCES[self.target]]

    @property
    def traps(self) -> list[WeaknessPlan]:
        return [w for w in self.weaknesses if w.trap]

    def count(self, source: str) -> int:
        return sum(r.source == source for r in self.rows)


_SOURCES = {"ideal": {IDEAL}, "passing": {PASSING}, "ideal-or-passing": {IDEAL, PASSING}}


def plan(
    records: Iterable[ItemRecord], analysis: FailureAnalysis, export: PlanExport, settings: AnalysisConfig,
    *, alpha: float, has_candidate: bool,
) -> DataPlan:  # fmt: skip
    """The plan for one run's records and its failure analysis."""
    records = sorted(records, key=lambda r: r.item)
    side = export.side or ("candidate" if has_candidate else "all")
    rows = _rows(records, side)
    taken = {r for r in rows if r.source in _SOURCES[export.target]}
    index = _Index(records, rows, list(analysis.pairs))
    found = [_weakness_plan(w, taken, index, export, settings, alpha) for w in analysis.weaknesses]
    return DataPlan(side, export.target, export.split, settings.gain, settings.power, alpha, tuple(rows), tuple(found))


def _rows(records: list[ItemRecord], side: str) -> list[Row]:
    """One row per distinct rendered prompt of the side's failing calls (the candidate's first, then the sample)."""
    by_slot: dict[Slot, list[ItemRecord]] = defaultdict(list)
    for record in records:
        by_slot[(record.suite, record.case, record.variant)].append(record)
    failing = [(r, c) for r in records if side == "all" or r.side == side for c in r.calls if c.passed is False]
    failing.sort(key=lambda rc: ({"candidate": 0, "baseline": 1}.get(rc[0].side or "", 2), rc[0].model, rc[1].sample))
    chosen: dict[str, tuple[ItemRecord, CallRecord]] = {}
    for record, call in failing:
        chosen.setdefault(_prompt(call), (record, call))
    rows = []
    for record, call in chosen.values():
        if record.ideal is not None:
            source = IDEAL
        elif _passed_elsewhere(by_slot[(record.suite, record.case, record.variant)], call):
            source = PASSING
        else:
            source = LABEL
        rows.append(Row(record, call, source))
    return sorted(rows, key=lambda r: (*r.slot, str(r.call.binding), r.record.model))


def _passed_elsewhere(records: list[ItemRecord], call: CallRecord) -> bool:
    """Whether a call on the same case and variant passed with the same rendered prompt (a target for ``passing``)."""
    prompt = _prompt(call)
    return any(c.passed and _prompt(c) == prompt for r in records for c in r.calls if c is not call)


def _prompt(call: CallRecord) -> str:
    return json.dumps(list(call.messages), sort_keys=True)


class _Index:
    """What every weakness's plan looks up, built in one pass over the run: the cost stays linear in the
    run however many weaknesses there are (a suite with one `equals` per case has one per case)."""

    def __init__(self, records: list[ItemRecord], rows: list[Row], pairs: list[Pair]) -> None:
        self.cases: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)  # (kind, key) -> suite cases
        for r in records:
            case = (r.suite, r.case)
            for tag in r.tags:
                self.cases[("tag", tag)].add(case)
            self.cases[("variant", r.variant)].add(case)
            for name in {a.name for c in r.calls for a in c.assertions}:
                self.cases[("assertion", name)].add(case)
        self.rows: dict[Slot, list[Row]] = defaultdict(list)
        for row in rows:
            self.rows[row.slot].append(row)
        self.discordant: dict[tuple[str, str], bool] = {}  # per paired case: does any variant differ between sides
        for pair in pairs:
            key = (pair.suite, pair.case)
            self.discordant[key] = self.discordant.get(key, False) or pair.baseline.passed != pair.candidate.passed

    def suite_cases(self, weakness: Weakness) -> set[tuple[str, str]]:
        if weakness.kind == "side":
            return {(s, c) for s, c, _ in weakness.slots}
        return self.cases.get((weakness.kind, weakness.key), set())

    def discordance(self, cases: set[tuple[str, str]], gain: float) -> float:
        """The share of the weakness's paired cases whose verdict differs between the sides, at least ``gain``."""
        paired = [self.discordant[c] for c in cases if c in self.discordant]
        return max(gain, sum(paired) / len(paired)) if paired else gain


def _weakness_plan(
    weakness: Weakness, taken: set[Row], index: _Index, export: PlanExport, settings: AnalysisConfig, alpha: float
) -> WeaknessPlan:
    mine = [r for slot in weakness.slots for r in index.rows.get(slot, ()) if _row_in(r, weakness)]
    train = [r for r in mine if r in taken]
    train_cases = {(r.record.suite, r.record.case) for r in train}
    failing_cases = {(r.record.suite, r.record.case) for r in mine}
    suite_cases = index.suite_cases(weakness)
    kept = 1.0 - export.split if export.split is not None else 0.0  # the share of exported cases held out
    held_out = len(suite_cases - train_cases) + kept * len(train_cases)
    psi = index.discordance(suite_cases, settings.gain)
    needed = connor_pairs(psi, settings.gain, alpha=alpha, power=settings.power)
    # The gain's power: mcnemar_power asks about "worse"; a gain of g is the mirror image of a drop of g.
    power = mcnemar_power(held_out, (psi + settings.gain) / 2, (psi - settings.gain) / 2, alpha=alpha)
    held_failing = len(failing_cases - train_cases) + kept * len(train_cases & failing_cases)
    return WeaknessPlan(
        kind=weakness.kind, key=weakness.key, failing_cases=len(failing_cases),
        ideal_rows=sum(r.source == IDEAL for r in mine), passing_rows=sum(r.source == PASSING for r in mine),
        needs_label=sum(r.source == LABEL for r in mine), train_rows=len(train), train_cases=len(train_cases),
        suite_cases=len(suite_cases), held_out=held_out, held_out_failing=held_failing, discordance=psi,
        cases_to_detect=needed,
        power_now=power, trap=weakness.kind in TRAP_KINDS and bool(train_cases) and held_failing < 1,
        hint=weakness.hint,
    )  # fmt: skip


def _row_in(row: Row, weakness: Weakness) -> bool:
    """Whether the row's call failed the weakness's assertion (tags, variants and sides hold per slot)."""
    if weakness.kind != "assertion":
        return True
    return any(a.name == weakness.key and not a.passed for a in row.call.assertions)
