"""The data plan: per weakness, what an export would train on and whether the next gate can see a gain.

The plan counts with the export's own selection (:func:`.export_selection.select`: sources, the
targets, ``variants``, ``balance``, the split by case and the ``rehearsal`` draw, all with the
export seed), so its training rows are the rows ``promptcheck export`` with the same choices
writes to the training file: with the export format's row builder (``build``, which the aggregator
and ``promptcheck plan`` pass) its rules count too (a preference format keeps failing rows only, a
text-only format skips image prompts, a prompt that ends with an assistant turn has no row).

Per weakness (:mod:`.weaknesses`), on the exported side (``--pc-export-side``):

- **failing cases** and **rows**: one per failing call with a distinct rendered prompt (the export's
  rule, SPEC §10); a row is *ideal* (the case has an ``ideal``), *passing* (no ``ideal``, but another
  model passed the same case, variant and rendered prompt: a target for ``target = passing``), or
  *needs a label* (neither);
- **to train**: the training file's rows on the weakness (failing, variant-added and rehearsal rows
  of its cases; of a variant, the rows of that variant; of an assertion, failing rows count only
  where the call failed it);
- **held out** (the table's column): the weakness's cases in the suite, passing or failing, that no
  training row comes from (a case in the validation file is held out; a case a rehearsal row comes
  from is not): only they can show, at the next gate, that a fine-tune learned the weakness rather
  than memorised its rows;
- **failing cases held out** (``held_out_failing``): of those, the weakness's failing cases: the
  cases where a gain can show;
- **cases to detect a gain**: the cases a paired one-sided McNemar test at the gate's ``alpha``
  needs to detect a gain of ``gain`` with ``power`` (Connor 1987, ``stats.connor_pairs``; the case
  is the unit). The discordant share ψ is the weakness's observed baseline/candidate discordance,
  at least ``gain`` (the least a gain of that size needs; also the value without a pair). Not the
  gate's non-inferiority "cases needed", which is about the current delta and the margin.
- **memorisation trap**: a side class, tag or assertion weakness with training rows and no failing
  case held out: the gate would measure recall of the training rows. (A prompt variant spans the
  suite: it is not flagged.)

With ``split`` (``--pc-export-split``) the export sends whole cases to validation, drawn with the
seed; the plan draws the same cases, so its counts are exact, not expected values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ..analysis_config import AnalysisConfig
from .compare import Pair
from .export_selection import Source, failing_calls, has_target, prompt_of, select
from .record import CallRecord, ItemRecord
from .stats import connor_pairs, mcnemar_power
from .weaknesses import FailureAnalysis, Slot, Weakness

# A prompt variant spans the whole suite (its passing cases still measure): not flagged as a trap.
TRAP_KINDS = ("side", "tag", "assertion")
IDEAL, PASSING, LABEL = "ideal", "passing", "needs label"
Case = tuple[str, str]  # (suite, case)


@dataclass(frozen=True)
class PlanExport:
    """The export choices the plan follows (the ``--pc-export-*`` options and ``[tool.promptcheck.export]``,
    or the CLI's flags): the same fields as ``ExportOptions`` less the format."""

    side: str | None = None  # None: candidate when the run has one, else all
    split: float | None = None
    target: str = "ideal"
    variants: str = "failing"
    rehearsal: float = 0.0
    balance: str = "none"
    seed: int | None = None  # None: the run's seed


@dataclass(frozen=True, eq=False)  # compared by identity: one row is one failing call
class Row:
    """One row an export would make from a failing call (whatever the target)."""

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
    train_rows: int  # the training file's rows on the weakness
    train_cases: int
    suite_cases: int  # the weakness's cases in the suite (passing or failing)
    held_out: int  # suite cases (passing or failing) no training row comes from
    held_out_failing: int  # of them, the failing ones: the cases that can show a gain
    discordance: float  # ψ used for cases_to_detect
    cases_to_detect: int
    power_now: float  # the chance the held-out cases detect the gain
    trap: bool
    hint: str
    short: str = ""  # the weakness's label for a table (Weakness.short)

    @property
    def enough(self) -> bool:
        return self.held_out >= self.cases_to_detect

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"


@dataclass(frozen=True)
class DataPlan:
    side: str
    export: PlanExport  # the choices, side and seed settled
    gain: float
    power: float
    alpha: float
    rows: tuple[Row, ...]  # every failing row of the exported side, sorted
    training: tuple[Source, ...]  # the training file's rows (rehearsal included), in its order
    validation: tuple[Source, ...]  # the validation file's rows
    needs_label: int  # failing rows with no target under the choices
    weaknesses: tuple[WeaknessPlan, ...]

    @property
    def target(self) -> str:
        return self.export.target

    @property
    def split(self) -> float | None:
        return self.export.split

    def train(self) -> list[Source]:
        return list(self.training)

    def sources(self) -> dict[str, int]:
        """Rows of both files per source (``failing``, ``variant-added``, ``rehearsal``), as the manifest counts."""
        found: dict[str, int] = {}
        for source in self.training + self.validation:
            found[source.kind] = found.get(source.kind, 0) + 1
        return found

    @property
    def traps(self) -> list[WeaknessPlan]:
        return [w for w in self.weaknesses if w.trap]

    def count(self, source: str) -> int:
        return sum(r.source == source for r in self.rows)


def plan(
    records: Iterable[ItemRecord], analysis: FailureAnalysis, export: PlanExport, settings: AnalysisConfig,
    *, alpha: float, has_candidate: bool, seed: int = 0, build: Callable[[Source], object | None] | None = None,
) -> DataPlan:  # fmt: skip
    """The plan for one run's records and its failure analysis; ``seed``: the run's (``export.seed`` wins).

    ``build``: the export's row builder for its format (``outputs.export.plan_rows``: None where the
    format makes no row of a source); without it a source with a target is a row."""
    records = sorted(records, key=lambda r: r.item)
    side = export.side or ("candidate" if has_candidate else "all")
    seed = export.seed if export.seed is not None else seed
    export = replace(export, side=side, seed=seed)
    rows = _rows(records, side)
    chosen = select(records, side, export, split=export.split, seed=seed, build=build or _kept)
    training = tuple(s for s, _ in chosen.train)
    needs = sum(s.kind == "failing" for s in chosen.dropped)
    index = _Index(records, rows, list(analysis.pairs), training)
    found = [_weakness_plan(w, index, settings, alpha) for w in analysis.weaknesses]
    return DataPlan(side, export, settings.gain, settings.power, alpha, tuple(rows), training,
                    tuple(s for s, _ in chosen.validation), needs, tuple(found))  # fmt: skip


def _kept(source: Source) -> Source | None:
    """The plan's row builder: a source with a target is a row (the export's format rules aside)."""
    return source if has_target(source) else None


def _rows(records: list[ItemRecord], side: str) -> list[Row]:
    """The export's failing rows (:func:`.export_selection.failing_calls`), each with the target it could have."""
    by_slot: dict[Slot, list[ItemRecord]] = defaultdict(list)
    for record in records:
        by_slot[(record.suite, record.case, record.variant)].append(record)
    rows = []
    for record, call in failing_calls(records, side)[0]:
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
    prompt = prompt_of(call)
    return any(c.passed and prompt_of(c) == prompt for r in records for c in r.calls if c is not call)


class _Index:
    """What every weakness's plan looks up, built in one pass over the run: the cost stays linear in the
    run however many weaknesses there are (a suite with one `equals` per case has one per case)."""

    def __init__(
        self, records: list[ItemRecord], rows: list[Row], pairs: list[Pair], training: Iterable[Source]
    ) -> None:
        self.cases: dict[tuple[str, str], set[Case]] = defaultdict(set)  # (kind, key) -> suite cases
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
        self.training: dict[Case, list[Source]] = defaultdict(list)  # the training file's rows per case
        for source in training:
            self.training[(source.suite, source.case)].append(source)
        self.discordant: dict[Case, bool] = {}  # per paired case: does any variant differ between sides
        for pair in pairs:
            key = (pair.suite, pair.case)
            self.discordant[key] = self.discordant.get(key, False) or pair.baseline.passed != pair.candidate.passed

    def suite_cases(self, weakness: Weakness) -> set[Case]:
        if weakness.kind == "side":
            return {(s, c) for s, c, _ in weakness.slots}
        return self.cases.get((weakness.kind, weakness.key), set())

    def discordance(self, cases: set[Case], gain: float) -> float:
        """The share of the weakness's paired cases whose verdict differs between the sides, at least ``gain``."""
        paired = [self.discordant[c] for c in cases if c in self.discordant]
        return max(gain, sum(paired) / len(paired)) if paired else gain


def _weakness_plan(weakness: Weakness, index: _Index, settings: AnalysisConfig, alpha: float) -> WeaknessPlan:
    mine = [r for slot in weakness.slots for r in index.rows.get(slot, ()) if _row_in(r, weakness)]
    failing_cases = {(r.record.suite, r.record.case) for r in mine}
    suite_cases = index.suite_cases(weakness)
    train = [s for case in sorted(suite_cases) for s in index.training.get(case, ()) if _trains(s, weakness)]
    train_cases = suite_cases & set(index.training)  # trained on by any row, on this weakness or not
    held_out = len(suite_cases - train_cases)
    held_failing = len(failing_cases - train_cases)
    psi = index.discordance(suite_cases, settings.gain)
    needed = connor_pairs(psi, settings.gain, alpha=alpha, power=settings.power)
    # The gain's power: mcnemar_power asks about "worse"; a gain of g is the mirror image of a drop of g.
    power = mcnemar_power(held_out, (psi + settings.gain) / 2, (psi - settings.gain) / 2, alpha=alpha)
    return WeaknessPlan(
        kind=weakness.kind, key=weakness.key, failing_cases=len(failing_cases),
        ideal_rows=sum(r.source == IDEAL for r in mine), passing_rows=sum(r.source == PASSING for r in mine),
        needs_label=sum(r.source == LABEL for r in mine), train_rows=len(train),
        train_cases=len({(s.suite, s.case) for s in train}), suite_cases=len(suite_cases), held_out=held_out,
        held_out_failing=held_failing, discordance=psi, cases_to_detect=needed, power_now=power,
        trap=weakness.kind in TRAP_KINDS and bool(failing_cases) and held_failing == 0,
        hint=weakness.hint, short=weakness.short,
    )  # fmt: skip


def _trains(source: Source, weakness: Weakness) -> bool:
    """Whether a training row of one of the weakness's cases is on the weakness (see the module's docstring)."""
    if weakness.kind == "variant":
        return source.record.variant == weakness.key
    if weakness.kind == "assertion" and source.kind == "failing":
        return any(a.name == weakness.key and not a.passed for a in source.call.assertions)
    return True


def _row_in(row: Row, weakness: Weakness) -> bool:
    """Whether the row's call failed the weakness's assertion (tags, variants and sides hold per slot)."""
    if weakness.kind != "assertion":
        return True
    return any(a.name == weakness.key and not a.passed for a in row.call.assertions)
