"""The per-case rows of the HTML and Markdown reports, and item records rebuilt from a run record.

A row is one (suite, case, prompt variant) with a cell per model (outcome, output, the reasons of
failed assertions) and, when a baseline and a candidate ran, the comparison's kind for the pair
(regression, improvement, known gap, unchanged) and a word diff of the two outputs. Rows are plain
JSON values: the HTML page embeds them and renders them with ``textContent`` only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..compare import Comparison
from ..metrics import Record

if TYPE_CHECKING:
    from ..aggregate import RunSummary

Row = dict[str, Any]
Progress = Callable[[int, int], None]

OUTPUT_LIMIT = 20_000  # characters of each output kept in a report
# The call fields of a results.jsonl line; every other field belongs to the item.
CALL_FIELDS = frozenset(
    {"run", "index", "sample", "binding", "messages", "params", "seed", "output", "finish_reason", "usage",
     "latency_ms", "cost", "cached", "passed", "score", "assertions"}
)  # fmt: skip
_TOKENS = re.compile(r"\w+\s*|[^\w\s]\s*|\s+")  # a word or a sign with the spaces after it


def records_from_results(lines: Iterable[dict[str, Any]]) -> list[Record]:
    """Item records (``results.py`` shape) from the call lines of a ``results.jsonl``, grouped by item."""
    records: dict[str, Record] = {}
    for line in lines:
        item = line.get("item")
        if not isinstance(item, str):
            continue
        record = records.setdefault(item, {k: v for k, v in line.items() if k not in CALL_FIELDS} | {"calls": []})
        record["calls"].append({k: v for k, v in line.items() if k in CALL_FIELDS})
    for record in records.values():
        record["calls"].sort(key=lambda c: c.get("index") or 0)
    return list(records.values())


def model_order(records: list[Record], summary: RunSummary) -> list[str]:
    """Baseline and candidate first, then the other models by name."""
    names = sorted({r["model"] for r in records})
    comparison = summary.comparison
    first = [comparison.baseline, comparison.candidate] if comparison else []
    return [m for m in first if m in names] + [m for m in names if m not in first]


def build_rows(
    records: list[Record], summary: RunSummary, progress: Progress | None = None, *, only_changed: bool = False
) -> list[Row]:
    """One row per (suite, case, variant), in suite/case/variant order (``only_changed``: regressions and
    improvements only)."""
    models = model_order(records, summary)
    grouped: dict[tuple[str, str, str], dict[str, Record]] = {}
    for record in records:
        grouped.setdefault((record["suite"], record["case"], record["variant"]), {})[record["model"]] = record
    kinds = _kinds(summary.comparison)
    pair = [summary.comparison.baseline, summary.comparison.candidate] if summary.comparison else models[:2]
    rows = []
    keys = sorted(k for k in grouped if not only_changed or kinds.get(k) in ("regression", "improvement"))
    for done, key in enumerate(keys, 1):
        rows.append(_row(key, grouped[key], models, kinds.get(key, ""), pair))
        if progress is not None:
            progress(done, len(keys))
    return rows


def _kinds(comparison: Comparison | None) -> dict[tuple[str, str, str], str]:
    if comparison is None:
        return {}
    return {(p.suite, p.case, p.variant): p.kind for p in comparison.pairs}


def _row(key: tuple[str, str, str], by_model: dict[str, Record], models: list[str], kind: str, pair: list[str]) -> Row:
    suite, case, variant = key
    tags = sorted({t for r in by_model.values() for t in r.get("tags") or []})
    cells = [_cell(m, by_model.get(m)) for m in models]
    outputs = {c["model"]: c["output"] for c in cells}
    diff = None
    if len(pair) == 2 and all(isinstance(outputs.get(m), str) for m in pair) and outputs[pair[0]] != outputs[pair[1]]:
        diff = word_diff(outputs[pair[0]], outputs[pair[1]])
    failed = any(c["outcome"] in ("failed", "error") for c in cells)
    return {"suite": suite, "case": case, "variant": variant, "tags": tags, "kind": kind, "failed": failed,
            "cells": cells, "diff": diff}  # fmt: skip


def _cell(model: str, record: Record | None) -> dict[str, Any]:
    if record is None:
        return {"model": model, "outcome": "absent", "output": None, "reasons": [], "samples": "", "error": None}
    calls = record.get("calls") or []
    shown = next((c for c in calls if c.get("passed") is False), calls[0] if calls else {})
    judged = [c for c in calls if c.get("passed") is not None]
    samples = f"{sum(bool(c['passed']) for c in judged)}/{len(judged)} samples passed" if len(calls) > 1 else ""
    reasons = [f"{a.get('name')}: {a.get('reason')}" for a in shown.get("assertions") or [] if not a.get("passed")]
    error = record.get("error")
    return {"model": model, "outcome": record.get("outcome", "?"), "output": clip(shown.get("output")),
            "reasons": reasons, "samples": samples, "error": clip(error, 2000)}  # fmt: skip


def clip(text: object, limit: int = OUTPUT_LIMIT) -> str | None:
    if text is None:
        return None
    value = str(text)
    return value if len(value) <= limit else value[:limit] + f"… [{len(value) - limit} more characters]"


def word_diff(before: str, after: str) -> list[list[str]]:
    """``[[op, text], ...]`` with op ``=`` (both), ``-`` (only before), ``+`` (only after), by words."""
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    out: list[list[str]] = []
    _push(out, "=", "".join(a[:head]))
    middle_a, middle_b = a[head : len(a) - tail], b[head : len(b) - tail]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, middle_a, middle_b).get_opcodes():
        if tag == "equal":
            _push(out, "=", "".join(middle_a[i1:i2]))
            continue
        _push(out, "-", "".join(middle_a[i1:i2]))
        _push(out, "+", "".join(middle_b[j1:j2]))
    _push(out, "=", "".join(a[len(a) - tail :]))
    return out


def _push(out: list[list[str]], op: str, text: str) -> None:
    if not text:
        return
    if out and out[-1][0] == op:
        out[-1][1] += text
    else:
        out.append([op, text])


def changed(rows: list[Row]) -> list[Row]:
    """Regressions first, then improvements."""
    order = {"regression": 0, "improvement": 1}
    return sorted((r for r in rows if r["kind"] in order), key=lambda r: order[r["kind"]])


def label(row: Row) -> str:
    return f"{row['suite']}::{row['case']} [{row['variant']}]"
