"""``promptcheck diff RUN_A RUN_B``: per model, the (case, prompt variant) items whose verdict or output
changed between two run records, and those run on only one side. Exit status 0 either way (it
reports, it does not gate).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runs.folder import read_run_records, resolve_run
from ..textutil import clip
from .paths import runs_dir


@dataclass(frozen=True)
class _Item:
    """One item of a run record: its verdict and the outputs of its calls."""

    outcome: str
    outputs: tuple[str | None, ...]


def register(commands: Any) -> None:
    diff = commands.add_parser("diff", help="cases whose verdict or output changed between two runs, per model")
    diff.add_argument("run_a", metavar="RUN_A", help="a run folder, a run id prefix, or 'latest'")
    diff.add_argument("run_b", metavar="RUN_B", help="a run folder, a run id prefix, or 'latest'")
    diff.set_defaults(handler=_cmd_diff)


def load_items(folder: Path) -> dict[tuple[str, str, str], _Item]:
    """(model, case, variant) -> the item's verdict and outputs, from a run's results.jsonl."""
    items: dict[tuple[str, str, str], _Item] = {}
    for r in read_run_records(folder):
        key = (r.model, r.case, r.variant)
        found = items.get(key)  # same case id and variant in two suites: one entry, as the old line-wise reader
        outputs = (found.outputs if found else ()) + tuple(c.output for c in r.calls)
        items[key] = _Item(found.outcome if found else r.outcome, outputs)
    return items


def _cmd_diff(args: argparse.Namespace) -> int:
    runs = runs_dir(args.runs)
    try:
        a, b = resolve_run(runs, args.run_a), resolve_run(runs, args.run_b)
        old, new = load_items(a), load_items(b)
    except (FileNotFoundError, ValueError) as exc:
        print(f"promptcheck diff: {exc}", file=sys.stderr)
        return 1
    for line in diff_lines(old, new, a.name, b.name):
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


def _clip(outputs: tuple[str | None, ...], limit: int = 60) -> str:
    text = " | ".join("" if o is None else " ".join(o.split()) for o in outputs)
    return repr(clip(text, limit))
