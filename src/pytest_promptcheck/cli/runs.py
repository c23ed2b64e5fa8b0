"""``promptcheck runs``: the run records, newest first, with date, status and pass rates per model.

``--trend`` prints each model/checkpoint across the run history instead, oldest first
(:mod:`..runs.trend`); the example suite gated twice, the peft adapter as candidate in between::

    base
      20261201T234957.651Z-39101e  2026-12-01 23:49:57  10/22  45.5% [26.9, 65.3]  stable 100% (2 items)  bias gap 0.0 pts  baseline
      20261201T235014.379Z-482687  2026-12-01 23:50:14  10/22  45.5% [26.9, 65.3]  stable 100% (2 items)  bias gap 0.0 pts  baseline
    tuned @ tuned#e45b4339
      20261201T234957.651Z-39101e  2026-12-01 23:49:57  18/22  81.8% [61.5, 92.7]  stable 100% (2 items)  bias gap 0.0 pts  gate regressed (enforced)
    tuned @ tuned-lora#8ff029d8
      20261201T235014.379Z-482687  2026-12-01 23:50:14  17/22  77.3% [56.6, 89.9]  stable 100% (2 items)  bias gap 0.0 pts  gate regressed (enforced)
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..runs.folder import read_manifest, read_run_records, run_folders
from ..runs.liveness import shown_status
from ..runs.trend import TrendFilter, TrendPoint, history, series
from .paths import runs_dir


def register(commands: Any) -> None:
    runs = commands.add_parser("runs", help="list run records with date, models and pass rates")
    runs.add_argument("--limit", type=int, default=20, metavar="N", help="the N newest runs (default 20; 0: all)")
    runs.add_argument("--trend", action="store_true", help="each model/checkpoint across the runs, oldest first")
    runs.add_argument("--suite", action="append", default=[], metavar="SUITE",
                      help="--trend: only this suite (path, file name or glob; repeatable)")  # fmt: skip
    runs.add_argument("--model", action="append", default=[], metavar="MODEL",
                      help="--trend: only this model (name, 'name @ checkpoint' or glob; repeatable)")  # fmt: skip
    runs.set_defaults(handler=_cmd_runs)


def _cmd_runs(args: argparse.Namespace) -> int:
    folder = runs_dir(args.runs)
    runs = run_folders(folder)
    if not runs:
        print(f"no run records in {folder}", file=sys.stderr)
        return 0
    if args.trend:
        return _trend(folder, TrendFilter(tuple(args.suite), tuple(args.model)), args.limit)
    if args.suite or args.model:
        print("promptcheck runs: --suite and --model filter --trend; add --trend", file=sys.stderr)
        return 2
    shown = runs[-args.limit :] if args.limit > 0 else runs
    for run in reversed(shown):
        print(_run_line(run))
    if len(shown) < len(runs):
        print(f"({len(runs) - len(shown)} older run(s) not shown; --limit 0 lists all)", file=sys.stderr)
    return 0


def _run_line(folder: Path) -> str:
    try:
        manifest = read_manifest(folder)
    except (OSError, ValueError):
        return f"{folder.name}  (unreadable manifest)"
    try:
        records = read_run_records(folder)
    except (OSError, ValueError) as exc:  # e.g. written by a newer version
        return f"{folder.name}  (unreadable results: {exc})"
    per_model: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        per_model[record.model][0] += record.passed
        per_model[record.model][1] += 1
    rates = ", ".join(f"{m} {p}/{n} ({p / n:.0%})" for m, (p, n) in sorted(per_model.items())) or "no results"
    started = str(manifest.get("started", "?")).replace("T", " ")
    status = shown_status(manifest)
    return f"{folder.name}  {started}  {status}  {rates}"


def _trend(folder: Path, flt: TrendFilter, limit: int) -> int:
    points = history(folder, flt, limit=limit)
    if not points:
        wanted = " ".join([*(f"--suite {s}" for s in flt.suites), *(f"--model {m}" for m in flt.models)])
        print(f"no results in {folder} match {wanted}; `promptcheck runs` lists what ran", file=sys.stderr)
        return 1
    for label, found in series(points).items():
        print(label)
        for point in found:
            print(f"  {trend_line(point)}")
    return 0


def trend_line(point: TrendPoint) -> str:
    """One point: run, time, passed/judged, rate [95% interval], stable share, bias gap, prompt tokens, gate verdict."""
    rate = point.rate
    low, high = rate.interval
    shown = f"{rate.rate * 100:.1f}% [{low * 100:.1f}, {high * 100:.1f}]" if rate.rate is not None else "–"
    stable = f"{point.stability:.0%} ({point.repeated} items)" if point.stability is not None else "–"
    gap = f"{point.bias_gap * 100:.1f} pts" if point.bias_gap is not None else "–"
    line = f"{point.run_id}  {point.time}  {rate.passed}/{rate.judged}  {shown}  stable {stable}  bias gap {gap}"
    if point.prompt_tokens is not None:  # what a call's prompt costs: a tuned model may need a shorter one
        line += f"  prompt {point.prompt_tokens:.0f} tokens/call"
    if point.gate is not None:
        line += f"  gate {point.gate}" + (" (enforced)" if point.enforced else " (not enforced)")
    elif point.side == "baseline":
        line += "  baseline"
    return line
