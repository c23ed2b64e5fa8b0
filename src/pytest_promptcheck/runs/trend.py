"""Trends: pass rate, consistency and bias gap per model and checkpoint across the run history.

One :class:`TrendPoint` per (run, model) from a run folder's manifest and results (oldest run
first): the pass rate with its Wilson interval, consistency (the stable share of repeated items),
the bias gap (the widest counterfactual pass-rate gap), prompt tokens per call and, where the run gated, the gate verdict
on the candidate's point. A point's ``series`` is the model *and what it served*: the checkpoint
or adapter content hash and lineage id of the manifest's ``models.NAME`` entry (else the
rootdir-relative path, model id or function), so ``tuned`` at step 3 and ``tuned`` at step 5 are
two series, not one line. This is the one reader of the run history for trends: ``promptcheck runs
--trend`` prints it, the HTML report charts it (:mod:`..outputs.trend_svg`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

from .folder import read_manifest, read_run_records, run_folders
from .metrics import Rate, accuracy, bias, consistency
from .record import ItemRecord

MAX_RUNS = 50  # the newest runs a trend shows: enough history, and the page stays light


@dataclass(frozen=True)
class TrendFilter:
    """Which records count: suites (paths, file names or globs) and models (names or series labels)."""

    suites: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    def suite(self, suite: str) -> bool:
        return not self.suites or any(_matches(suite, p) or _matches(PurePosixPath(suite).name, p) for p in self.suites)

    def model(self, point: TrendPoint) -> bool:
        names = (point.model, point.served, f"{point.model} @ {point.served}")
        return not self.models or any(_matches(n, p) for n in names for p in self.models)


def _matches(value: str, pattern: str) -> bool:
    return value == pattern or fnmatchcase(value, pattern)


@dataclass(frozen=True)
class TrendPoint:
    """One model in one run."""

    run_id: str
    started: str
    model: str  # the configured name
    series: str  # the model and what it served (see the module docstring)
    served: str  # what the checkpoint is called: a folder name, model id or function, plus a short hash
    rate: Rate
    stability: float | None  # stable share of repeated items; None without repeats
    repeated: int  # items with repeat samples
    bias_gap: float | None  # max - min pass rate over counterfactual values; None without counterfactuals
    side: str | None = None  # "baseline" / "candidate" of the run's comparison
    gate: str | None = None  # the gate verdict, on the candidate's point of a run that gated
    enforced: bool = False  # the gate decided the exit status (--pc-gate)
    label: str = ""  # the series as shown: the name, plus the checkpoint where the name served several
    prompt_tokens: float | None = None  # mean input tokens per answered call (the provider's count; prompt cost)

    @property
    def time(self) -> str:
        return self.started.replace("T", " ")[:19]


def history(runs_dir: Path, flt: TrendFilter = TrendFilter(), *, upto: str | None = None,
            current: tuple[TrendPoint, ...] = (), limit: int = MAX_RUNS) -> list[TrendPoint]:  # fmt: skip
    """The points of the newest ``limit`` runs under ``runs_dir`` that have any, oldest first, up to run ``upto``.

    Only complete runs count: an interrupted or aborted run's pass rate covers what happened to run.
    Unreadable folders are left out (``promptcheck runs`` names them). ``current``: the points of the
    run being written (from memory: its manifest has no hashes or gate yet); its folder is skipped.
    """
    folders = [f for f in run_folders(runs_dir) if upto is None or f.name <= upto]
    skipped = {p.run_id for p in current}
    found: list[list[TrendPoint]] = [[p for p in current if flt.model(p)]] if current else []
    for folder in reversed(folders):  # newest first: the history is read only as far back as it is shown
        if limit > 0 and len(found) >= limit:
            break
        if folder.name in skipped:
            continue
        try:
            manifest = read_manifest(folder)
            if manifest.get("status") != "complete":
                continue
            points = [p for p in run_points(folder.name, manifest, read_run_records(folder), flt) if flt.model(p)]
        except (OSError, ValueError):
            continue
        if points:
            found.append(points)
    return labelled([p for run in found for p in run], limit=limit)


def run_trend(runs_dir: Path, run_id: str, manifest: Mapping[str, Any], records: list[ItemRecord]) -> list[TrendPoint]:
    """A report's trend: the history of ``run_id``'s suites up to it, its own points from ``manifest`` and ``records``."""
    flt = TrendFilter(suites=tuple(sorted({r.suite for r in records})))
    return history(runs_dir, flt, upto=run_id, current=tuple(run_points(run_id, manifest, records, flt)))


def run_points(run_id: str, manifest: Mapping[str, Any], records: Iterable[ItemRecord],
               flt: TrendFilter = TrendFilter()) -> list[TrendPoint]:  # fmt: skip
    """The points of one run (unlabelled): one per model with items in the filter's suites."""
    per_model: dict[str, list[ItemRecord]] = {}
    for record in records:
        if flt.suite(record.suite):
            per_model.setdefault(record.model, []).append(record)
    models = _dict(manifest.get("models"))
    gate = manifest.get("gate") if isinstance(manifest.get("gate"), dict) else None
    sides = {manifest.get("baseline"): "baseline", manifest.get("candidate"): "candidate"}
    points = []
    for name, found in sorted(per_model.items()):
        entry = _dict(models.get(name))
        side = sides.get(name) if gate is not None else None
        repeated, biased = consistency(found), bias(found)
        points.append(TrendPoint(
            run_id=run_id, started=str(manifest.get("started") or run_id), model=name,
            series=_series(name, entry), served=_served(name, entry), rate=accuracy(found).rate,
            stability=repeated.stability if repeated is not None else None,
            repeated=repeated.items if repeated is not None else 0,
            bias_gap=biased.max_gap if biased is not None else None, side=side,
            gate=str(gate.get("verdict")) if gate is not None and side == "candidate" else None,
            enforced=bool(gate.get("enforced")) if gate is not None else False,
            prompt_tokens=_prompt_tokens(found),
        ))  # fmt: skip
    return points


def _prompt_tokens(records: list[ItemRecord]) -> float | None:
    counted = [c.input_tokens for r in records for c in r.calls if c.output is not None and c.input_tokens is not None]
    return sum(counted) / len(counted) if counted else None


def labelled(points: list[TrendPoint], *, limit: int = MAX_RUNS) -> list[TrendPoint]:
    """The newest ``limit`` runs' points, each labelled: the name, or ``name @ checkpoint`` where it served several."""
    # Run ids begin with their UTC start time (like the folders' order): they sort as the runs happened.
    runs = set(sorted({p.run_id for p in points})[-limit:]) if limit > 0 else None
    kept = [p for p in points if runs is None or p.run_id in runs]
    kept.sort(key=lambda p: (p.run_id, p.model))
    series_of: dict[str, set[str]] = {}
    for point in kept:
        series_of.setdefault(point.model, set()).add(point.series)
    return [_with_label(p, p.model if len(series_of[p.model]) == 1 else f"{p.model} @ {p.served}") for p in kept]


def series(points: Iterable[TrendPoint]) -> dict[str, list[TrendPoint]]:
    """Points per series label, in the order each series first appears (oldest run first)."""
    found: dict[str, list[TrendPoint]] = {}
    for point in points:
        found.setdefault(point.label, []).append(point)
    return found


def _with_label(point: TrendPoint, label: str) -> TrendPoint:
    return replace(point, label=label)


_HASHES = ("checkpoint_sha256", "adapter_sha256")


def _series(name: str, entry: Mapping[str, Any]) -> str:
    """The model's identity in this run: name, what it serves (relative path/id) and the content hashes."""
    lineage = _dict(_dict(entry.get("training")).get("lineage"))
    what = entry.get("path") or entry.get("model") or entry.get("function") or entry.get("served")
    parts = [name, entry.get("provider"), what, entry.get("adapter"), *(entry.get(k) for k in _HASHES)]
    return json.dumps([*parts, lineage.get("lineage_id")])


def _served(name: str, entry: Mapping[str, Any]) -> str:
    """``tuned-2``, ``models/tuned#1a2b3c4d``: the lineage's checkpoint name or the folder, and a short hash."""
    lineage = _dict(_dict(entry.get("training")).get("lineage"))
    where = entry.get("adapter") or entry.get("path")
    shown = str(lineage.get("checkpoint") or (PurePosixPath(str(where)).name if where else None)
                or entry.get("model") or entry.get("function") or name)  # fmt: skip
    digest = next((str(entry[k]) for k in reversed(_HASHES) if entry.get(k)), "")
    return f"{shown}#{digest.removeprefix('sha256:')[:8]}" if digest else shown


def _dict(value: Any) -> dict[str, Any]:
    """A manifest entry as a dict (a hand-edited or older manifest may hold anything there)."""
    return value if isinstance(value, dict) else {}
