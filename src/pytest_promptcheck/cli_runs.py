"""``promptcheck runs`` (the run records with date, models and pass rates) and ``promptcheck diff RUN_A RUN_B``.

``diff`` compares two run records per model: the (case, prompt variant) items whose verdict or
output changed, and those run on only one side. Exit status 0 either way (it reports, it does not gate).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import MANIFEST, RESULTS, read_manifest, read_results, resolve_run


@dataclass
class _Item:
    """One item of a run record: its verdict and the outputs of its calls."""

    outcome: str
    outputs: list[str | None] = field(default_factory=list)


def register(commands: Any) -> None:
    runs = commands.add_parser("runs", help="list run records with date, models and pass rates")
    runs.add_argument("--limit", type=int, default=20, metavar="N", help="the N newest runs (default 20; 0: all)")
    runs.set_defaults(handler=_cmd_runs)
    diff = commands.add_parser("diff", help="cases whose verdict or output changed between two runs, per model")
    diff.add_argument("run_a", metavar="RUN_A", help="a run folder, a run id prefix, or 'latest'")
    diff.add_argument("run_b", metavar="RUN_B", help="a run folder, a run id prefix, or 'latest'")
    diff.set_defaults(handler=_cmd_diff)


def _runs_dir(args: argparse.Namespace) -> Path:
    from .cli import _runs_dir as runs_dir

    return runs_dir(args.runs)


def load_items(folder: Path) -> dict[tuple[str, str, str], _Item]:
    """(model, case, variant) -> the item's verdict and outputs, from a run's results.jsonl."""
    items: dict[tuple[str, str, str], _Item] = {}
    results = folder / RESULTS
    for line in read_results(results) if results.is_file() else []:
        key = (str(line.get("model")), str(line.get("case")), str(line.get("variant")))
        item = items.setdefault(key, _Item(str(line.get("outcome"))))
        item.outputs.append(line.get("output"))
    return items


def _cmd_runs(args: argparse.Namespace) -> int:
    folder = _runs_dir(args)
    runs = sorted(p for p in folder.glob("*") if (p / MANIFEST).is_file()) if folder.is_dir() else []
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
    per_model: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (model, _case, _variant), item in load_items(folder).items():
        per_model[model][0] += item.outcome == "passed"
        per_model[model][1] += 1
    rates = ", ".join(f"{m} {p}/{n} ({p / n:.0%})" for m, (p, n) in sorted(per_model.items())) or "no results"
    started = str(manifest.get("started", "?")).replace("T", " ")
    status = manifest.get("status", "?")
    return f"{folder.name}  {started}  {status}  {rates}"


def _cmd_diff(args: argparse.Namespace) -> int:
    runs_dir = _runs_dir(args)
    try:
        a, b = resolve_run(runs_dir, args.run_a), resolve_run(runs_dir, args.run_b)
    except FileNotFoundError as exc:
        print(f"promptcheck diff: {exc}", file=sys.stderr)
        return 1
    for line in diff_lines(load_items(a), load_items(b), a.name, b.name):
        print(line)
    return 0


def diff_lines(
    old: dict[tuple[str, str, str], _Item], new: dict[tuple[str, str, str], _Item], name_a: str, name_b: str
) -> list[str]:
    lines = [f"diff {name_a} -> {name_b}"]
    variants = {k[2] for k in (*old, *new)}
    changed = 0
    for model in sorted({k[0] for k in (*old, *new)}):
        entries = [_entry(k, old.get(k), new.get(k), len(variants) > 1) for k in sorted({*old, *new}) if k[0] == model]
        shown = [e for e in entries if e]
        changed += len(shown)
        if shown:
            lines.append(f"model {model}:")
            lines.extend(f"  {e}" for e in shown)
    lines.append(f"{changed} change(s)" if changed else "no changes")
    return lines


def _entry(key: tuple[str, str, str], a: _Item | None, b: _Item | None, show_variant: bool) -> str:
    name = f"{key[1]}[{key[2]}]" if show_variant else key[1]
    if a is None:
        return f"{name}: only in the second run ({b.outcome if b else '?'})"
    if b is None:
        return f"{name}: only in the first run ({a.outcome})"
    if a.outcome != b.outcome:
        return f"{name}: {a.outcome} -> {b.outcome}" + (" (output changed)" if a.outputs != b.outputs else "")
    if a.outputs != b.outputs:
        return f"{name}: output changed ({a.outcome}): {_clip(a.outputs)} -> {_clip(b.outputs)}"
    return ""


def _clip(outputs: list[str | None], limit: int = 60) -> str:
    text = " | ".join("" if o is None else " ".join(o.split()) for o in outputs)
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
