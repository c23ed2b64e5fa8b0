"""``promptcheck runs``: the run records, newest first, with date, status and pass rates per model."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..runs.folder import read_manifest, read_run_records, run_folders
from ..runs.liveness import shown_status
from .paths import runs_dir


def register(commands: Any) -> None:
    runs = commands.add_parser("runs", help="list run records with date, models and pass rates")
    runs.add_argument("--limit", type=int, default=20, metavar="N", help="the N newest runs (default 20; 0: all)")
    runs.set_defaults(handler=_cmd_runs)


def _cmd_runs(args: argparse.Namespace) -> int:
    folder = runs_dir(args.runs)
    runs = run_folders(folder)
    if not runs:
        print(f"no run records in {folder}", file=sys.stderr)
        return 0
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
