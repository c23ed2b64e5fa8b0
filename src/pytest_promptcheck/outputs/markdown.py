"""The Markdown summary, sized for a pull-request comment.

The gate verdict with its reasons, pass rates per model (and per prompt variant when there are
several), then only the changed cases — regressions first, then improvements — each with both
outputs, truncated and fenced. The whole text stays under ``LIMIT`` characters (GitHub takes
65,536 in a comment); cases that do not fit are counted in a "N more" line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..runs.metrics import Rate
from ..runs.record import ItemRecord
from . import prompt_cost_text
from .analysis_report import markdown_section
from .artifacts import scrub_records, write_text_artifact
from .redact import Redactor
from .rows import Row, build_rows, changed, label, model_order

if TYPE_CHECKING:
    from ..runs.summary import RunSummary

LIMIT = 60_000
OUTPUT_CHARS = 600  # of each output
_ICON = {"pass": "✅", "regressed": "❌", "inconclusive": "⚠️", "infrastructure": "⚠️"}


def write_markdown(
    path: Path, summary: RunSummary, records: list[ItemRecord], redactor: Redactor, *, title: str = "promptcheck"
) -> None:
    write_text_artifact(path, render(summary, scrub_records(records, redactor), title=title), redactor)


def render(summary: RunSummary, records: list[ItemRecord], *, title: str = "promptcheck", limit: int = LIMIT) -> str:
    models = model_order(records, summary)
    head = [*_verdict(summary, title), "", *_rates(summary, models), *_variants(summary, models),
            *prompt_cost_text.markdown_lines(summary.prompt_cost)]  # fmt: skip
    text = "\n".join(head).rstrip() + "\n"
    if summary.analysis is not None:  # before the cases: the cases section fills what room is left
        text += markdown_section(summary.analysis, cell)
    rows = changed(build_rows(records, summary, only_changed=True)) if summary.comparison else []
    if not rows:
        return text + ("\nNo case changed verdict between baseline and candidate.\n" if summary.comparison else "")
    return text + _cases(rows, summary, limit - len(text))


def _verdict(summary: RunSummary, title: str) -> list[str]:
    gate, comparison = summary.gate, summary.comparison
    if gate is None or comparison is None:
        return [f"## {title}", "", "No baseline/candidate comparison in this run."]
    verdict = gate.verdict.value
    stats = comparison.stats
    counts = stats.counts
    lines = [
        f"## {title}: {_ICON.get(verdict, '')} gate **{verdict.upper()}** (exit {gate.exit_status})",
        "",
        f"Baseline {code(comparison.baseline)} → candidate {code(comparison.candidate)}: {stats.cases} cases, "
        f"{counts.b} regressions, {counts.c} improvements, {counts.d} known gaps; pass rate "
        f"{pct(counts.baseline_rate)} → {pct(counts.candidate_rate)} ({counts.delta * 100:+.1f} pts, "
        f"{1 - 2 * stats.alpha:.0%} interval [{stats.lower * 100:+.1f}, {stats.upper * 100:+.1f}]); "
        f"McNemar p = {stats.p_value:.3g}.",
    ]
    if not summary.enforced:
        lines.append("The gate was not enforced (run without `--pc-gate`).")
    notes = [f"- note: {cell(n)}" for n in gate.notes]
    return [*lines, "", f"_{cell(gate.rule)}_" if gate.rule else "", *(f"- {cell(r)}" for r in gate.reasons), *notes]


def _rates(summary: RunSummary, models: list[str]) -> list[str]:
    lines = ["| model | passed | judged | errors | pass rate | 95% interval |", "|---|---:|---:|---:|---:|---|"]
    for model in models:
        found = summary.models.get(model)
        if found is None:
            continue
        rate = found.accuracy.rate
        low, high = rate.interval
        lines.append(f"| {cell(model)} | {rate.passed} | {rate.judged} | {found.accuracy.errors} | "
                     f"{pct(rate.rate)} | [{low * 100:.1f}, {high * 100:.1f}] |")  # fmt: skip
    return [*lines, ""]


def _variants(summary: RunSummary, models: list[str]) -> list[str]:
    if len(summary.by_variant) < 2:
        return []
    lines = ["| variant | " + " | ".join(map(cell, models)) + " |", "|---|" + "---:|" * len(models)]
    for variant, by_model in summary.by_variant.items():
        lines.append(f"| {cell(variant)} | " + " | ".join(_rate(by_model.get(m)) for m in models) + " |")
    return [*lines, ""]


def _rate(rate: Rate | None) -> str:
    return "" if rate is None else f"{pct(rate.rate, 0)} ({rate.passed}/{rate.judged})"


def _cases(rows: list[Row], summary: RunSummary, budget: int) -> str:
    assert summary.comparison is not None
    sides = (summary.comparison.baseline, summary.comparison.candidate)
    regressions = sum(r["kind"] == "regression" for r in rows)
    out = [f"\n### Changed cases: {regressions} regressions, {len(rows) - regressions} improvements\n"]
    used = len(out[0])
    for index, row in enumerate(rows):
        block = _case(row, sides)
        reserve = 80  # room for the "N more" line
        if used + len(block) + reserve > budget:
            out.append(f"\n… {len(rows) - index} more changed cases (see the HTML report or the JSON summary).\n")
            break
        out.append(block)
        used += len(block)
    return "".join(out)


def _case(row: Row, sides: tuple[str, str]) -> str:
    icon = "❌ regression" if row["kind"] == "regression" else "✅ improvement"
    tags = f" — tags: {', '.join(map(code, row['tags']))}" if row["tags"] else ""
    parts = [f"\n**{icon}**: {code(label(row))}{tags}\n"]
    cells = {c["model"]: c for c in row["cells"]}
    for side in sides:
        found = cells.get(side, {})
        parts.append(f"\n{code(side)} ({found.get('outcome', '?')}):\n\n{fence(found.get('output') or '')}\n")
        parts.extend(f"\n- {cell(reason)}" for reason in found.get("reasons") or [])
        if found.get("reasons"):
            parts.append("\n")
    return "".join(parts)


def fence(text: str, limit: int = OUTPUT_CHARS) -> str:
    """A fenced block of ``text`` (truncated), with a fence longer than any backtick run inside."""
    if len(text) > limit:
        text = text[:limit] + f"… [{len(text) - limit} more characters]"
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{text}\n{ticks}"


def code(text: str) -> str:
    """Inline code that survives backticks in ``text``."""
    text = text.replace("\n", " ")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def cell(text: str) -> str:
    """Text for a table cell or list item: no raw HTML, pipes or newlines."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")


def pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"
