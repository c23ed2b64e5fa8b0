"""The per-case rows of the HTML and Markdown reports, built from item records.

A row is one (suite, case, prompt variant) with a cell per model (outcome, output, the reasons of
failed assertions) and, when a baseline and a candidate ran, the comparison's kind for the pair
(regression, improvement, known gap, unchanged) and a word diff of the two outputs. Rows are plain
JSON values: the HTML page embeds them and renders them with ``textContent`` only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..runs.compare import Comparison
from ..runs.record import ItemRecord

if TYPE_CHECKING:
    from ..runs.summary import RunSummary

Row = dict[str, Any]
Progress = Callable[[int, int], None]

OUTPUT_LIMIT = 20_000  # characters of each output kept in a report
_TOKENS = re.compile(r"\w+\s*|[^\w\s]\s*|\s+")  # a word or a sign with the spaces after it


def model_order(records: list[ItemRecord], summary: RunSummary) -> list[str]:
    """Baseline and candidate first, then the other models by name."""
    names = sorted({r.model for r in records})
    comparison = summary.comparison
    first = [comparison.baseline, comparison.candidate] if comparison else []
    return [m for m in first if m in names] + [m for m in names if m not in first]


def build_rows(
    records: list[ItemRecord], summary: RunSummary, progress: Progress | None = None, *, only_changed: bool = False
) -> list[Row]:
    """One row per (suite, case, variant), in suite/case/variant order (``only_changed``: regressions and
    improvements only)."""
    models = model_order(records, summary)
    grouped: dict[tuple[str, str, str], dict[str, ItemRecord]] = {}
    for record in records:
        grouped.setdefault((record.suite, record.case, record.variant), {})[record.model] = record
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


def _row(
    key: tuple[str, str, str], by_model: dict[str, ItemRecord], models: list[str], kind: str, pair: list[str]
) -> Row:
    suite, case, variant = key
    tags = sorted({t for r in by_model.values() for t in r.tags})
    cells = [_cell(m, by_model.get(m)) for m in models]
    outputs = {c["model"]: c["output"] for c in cells}
    diff = None
    if len(pair) == 2 and all(isinstance(outputs.get(m), str) for m in pair) and outputs[pair[0]] != outputs[pair[1]]:
        diff = word_diff(outputs[pair[0]], outputs[pair[1]])
    failed = any(c["outcome"] in ("failed", "error") for c in cells)
    return {"suite": suite, "case": case, "variant": variant, "tags": tags, "kind": kind, "failed": failed,
            "cells": cells, "diff": diff}  # fmt: skip


def _cell(model: str, record: ItemRecord | None) -> dict[str, Any]:
    if record is None:
        return {"model": model, "outcome": "absent", "output": None, "reasons": [], "samples": "", "error": None,
                "calls": []}  # fmt: skip
    shown = record.shown_call()
    judged = record.judged_calls()
    samples = f"{sum(bool(c.passed) for c in judged)}/{len(judged)} samples passed" if len(record.calls) > 1 else ""
    reasons = shown.failed_reasons() if shown is not None else []
    calls = [{"label": c.label(), "passed": c.passed, "output": clip_marked(c.output, 2000),
              "reasons": c.failed_reasons()}
             for c in sorted(record.calls, key=lambda c: (repr(sorted(c.binding.items())), c.sample))
             ] if len(record.calls) > 1 else []  # fmt: skip
    return {"model": model, "outcome": record.outcome, "output": clip_marked(shown.output if shown else None),
            "reasons": reasons, "samples": samples, "error": clip_marked(record.error, 2000), "calls": calls}  # fmt: skip


def clip_marked(text: object, limit: int = OUTPUT_LIMIT) -> str | None:
    """``text`` cut to ``limit``, saying how many characters were left out (None stays None)."""
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
