"""``promptcheck lineage RUN|CHECKPOINT``: the chain back from a gate run to the runs that trained its candidate.

A run's manifest records its candidate's ``promptcheck-lineage.json`` (``models.<candidate>.training
.lineage``); the lineage names the exports trained on and the runs that produced them; each of
those runs has a candidate with its own lineage, back to a checkpoint that has none. Printed oldest
first, one step per run, e.g.::

    run 20261201T232651.140Z-6f7211  gate regressed (exit 1)  base 10/22 (45%) · tuned 18/22 (82%)
      tuned = models/tuned
      trained tuned-2 from example_suite/models/tuned on fails.jsonl (4 rows) + correct.jsonl: batch 32, \
    exported_rows 4, lora False, lr 0.001, mix 0.25, steps 150, seed 0
    run 20261201T232811.445Z-40f9a2  gate pass (exit 0)  base 10/22 (45%) · tuned 21/22 (95%)
      tuned = .promptcheck/checkpoints/tuned-2 (lineage lin-9ac3bdb45d4f1f40)
    chain: base 45% → tuned 82% → tuned-2 95%

Given a CHECKPOINT folder instead, the chain ends at the latest run that gated it (matched by its
lineage id), or says it is not gated yet. Runs are looked up in the RUN's own runs folder (or the
project's, see :mod:`.paths`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runs.folder import MANIFEST, read_manifest, read_run_records, resolve_run, run_folders
from ..runs.lineage import LINEAGE_FILE, Lineage, read_lineage
from .paths import runs_dir

_MAX_STEPS = 100  # a chain that loops (a hand-edited lineage) stops here


@dataclass(frozen=True)
class Step:
    """One run of the chain: its manifest, pass rates per model, and its candidate's lineage."""

    folder: Path
    manifest: dict[str, Any]
    rates: dict[str, tuple[int, int]]  # model -> (passed items, items)

    @property
    def candidate(self) -> str | None:
        return self.manifest.get("candidate")

    def entry(self, model: str | None) -> dict[str, Any]:
        entry = (self.manifest.get("models") or {}).get(model or "")
        return entry if isinstance(entry, dict) else {}

    def lineage(self) -> Lineage | None:
        data = (self.entry(self.candidate).get("training") or {}).get("lineage")
        return Lineage.from_json(data) if isinstance(data, dict) else None


def register(commands: Any) -> None:
    lineage = commands.add_parser("lineage", help="the chain of runs and fine-tunes behind a gate run or checkpoint")
    lineage.add_argument(
        "target", metavar="RUN|CHECKPOINT", help="a run folder, id prefix, 'latest', or a checkpoint folder"
    )
    lineage.set_defaults(handler=_cmd_lineage)


def _cmd_lineage(args: argparse.Namespace) -> int:
    target = Path(args.target)
    try:
        if target.is_dir() and not (target / MANIFEST).is_file():
            return _checkpoint(target, Path(args.runs) if args.runs else runs_dir(None, cwd=target))
        folder = resolve_run(runs_dir(args.runs), args.target)
        steps = chain(_step(folder), folder.parent)
    except (FileNotFoundError, OSError, ValueError) as exc:
        print(f"promptcheck lineage: {exc}", file=sys.stderr)
        return 1
    _print(steps, folder.parent)
    return 0


def _checkpoint(folder: Path, runs: Path) -> int:
    lineage = read_lineage(folder)
    if lineage is None:
        raise FileNotFoundError(
            f"{folder} has no {LINEAGE_FILE}; write one from the training script with pytest_promptcheck.write_lineage"
        )
    gated = [s for s in map(_step, run_folders(runs)) if _lineage_id(s) == lineage.lineage_id]
    if gated:
        _print(chain(gated[-1], runs), runs)
        return 0
    known = [r for r in lineage.run_ids if (runs / r / MANIFEST).is_file()]
    steps = chain(_step(runs / known[0]), runs) if known else []
    _print(steps, runs, pending=lineage)
    print(f"{folder.name}: not gated yet: pytest --pc-gate --pc-model CANDIDATE=hf:{folder}")
    return 0


def chain(last: Step, runs: Path) -> list[Step]:
    """``last`` and the runs whose failures trained its candidate, oldest first (the first export of each)."""
    steps = [last]
    seen = {last.folder.name}
    while len(steps) < _MAX_STEPS:
        lineage = steps[0].lineage()
        run_id = next((r for r in lineage.run_ids if r not in seen), None) if lineage else None
        if run_id is None:
            break
        try:
            steps.insert(0, _step(_run(runs, run_id)))
        except FileNotFoundError:
            break  # the run record was deleted or lives elsewhere: the lineage line still names it
        seen.add(run_id)
    return steps


def _run(runs: Path, run_id: str) -> Path:
    folder = runs / run_id
    if not (folder / MANIFEST).is_file():
        raise FileNotFoundError(f"run {run_id} is not in {runs}; give --runs DIR where its record is")
    return folder


def _step(folder: Path) -> Step:
    rates: dict[str, tuple[int, int]] = {}
    for record in read_run_records(folder):
        passed, total = rates.get(record.model, (0, 0))
        rates[record.model] = (passed + record.passed, total + 1)
    return Step(folder, read_manifest(folder), rates)


# -- printing ---------------------------------------------------------------------------------------


def _print(steps: list[Step], runs: Path, pending: Lineage | None = None) -> None:
    first = steps[0].lineage() if steps else pending
    missing = [r for r in first.run_ids if not (runs / r / MANIFEST).is_file()] if first is not None else []
    for run_id in missing:  # the chain goes back further than the records here
        print(f"run {run_id}  (no record in {runs}: deleted or kept elsewhere; give --runs DIR)")
    if missing and first is not None:
        print(f"  {_trained_line(first)}")
    for index, step in enumerate(steps):
        print(_run_line(step))
        if step.candidate:
            print(f"  {step.candidate} = {_served(step.entry(step.candidate))}")
        # What was trained on this run's failures: the next run's candidate (or the ungated checkpoint).
        trained = steps[index + 1].lineage() if index + 1 < len(steps) else pending
        if trained is not None:
            print(f"  {_trained_line(trained)}")
    links = _links(steps, pending)
    if links:
        print("chain: " + " → ".join(links))


def _run_line(step: Step) -> str:
    gate = step.manifest.get("gate")
    verdict = f"gate {gate.get('verdict')} (exit {gate.get('exit_status')})" if isinstance(gate, dict) else "no gate"
    rates = " · ".join(f"{m} {p}/{n} ({p / n:.0%})" for m, (p, n) in sorted(step.rates.items()) if n)
    return f"run {step.folder.name}  {verdict}  {rates or 'no results'}"


def _trained_line(lineage: Lineage) -> str:
    inputs = [f"{e.path} ({e.rows} rows)" if e.rows is not None else e.path for e in lineage.exports]
    inputs += [d.path for d in lineage.data]
    params = [f"{k} {v}" for k, v in lineage.parameters.items()] + (
        [f"seed {lineage.seed}"] if lineage.seed is not None else []
    )
    base = lineage.base_model.get("path") or lineage.base_model.get("id")
    start = f" from {base}" if base else ""
    return f"trained {lineage.checkpoint}{start} on {' + '.join(inputs) or 'nothing recorded'}: {', '.join(params)}"


def _links(steps: list[Step], pending: Lineage | None) -> list[str]:
    """``base 73% → tuned 95% → tuned-1 100%``: the first run's baseline, then each run's candidate."""
    if not steps:
        return [f"{pending.checkpoint} (not gated)"] if pending else []
    first = steps[0]
    baseline = first.manifest.get("baseline")
    links = [_link(first, baseline)] if baseline else []
    links += [_link(step, step.candidate) for step in steps if step.candidate]
    return links + ([f"{pending.checkpoint} (not gated)"] if pending else [])


def _link(step: Step, model: str | None) -> str:
    entry = step.entry(model)
    name = Path(str(entry.get("adapter") or entry.get("path") or model)).name
    passed, total = step.rates.get(model or "", (0, 0))
    return f"{name} {passed / total:.0%}" if total else f"{name} -"


def _served(entry: dict[str, Any]) -> str:
    where = entry.get("adapter") or entry.get("path") or entry.get("served") or "?"
    lineage = (entry.get("training") or {}).get("lineage")
    return f"{where} (lineage {lineage.get('lineage_id')})" if isinstance(lineage, dict) else str(where)


def _lineage_id(step: Step) -> str | None:
    lineage = step.lineage()
    return lineage.lineage_id if lineage is not None else None
