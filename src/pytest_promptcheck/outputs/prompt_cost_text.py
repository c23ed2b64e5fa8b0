"""The prompt-cost table (:mod:`..runs.prompt_cost`): its cells (the terminal aligns them,
:mod:`.summary_text`), Markdown, HTML and JSON.

Terminal, for a base/tuned run on two variants::

    prompt cost by variant × model (cheapest: pass rate within 5 pts of the model's best)
    model  variant  prompt tokens  pass rate  95% interval  p50 ms  cost/call
    base   guided              45        90%    [60, 98]       120          -  best, cheapest
    base   plain               31        40%    [17, 69]       110          -
    tuned  guided              45        95%    [76, 99]        80          -  best
    tuned  plain               31        92%    [74, 98]        75          -  cheapest
    tuned on `plain` (31 tokens, 92%) keeps base on `guided` (45 tokens, 90%): −14 tokens per call
"""

from __future__ import annotations

from html import escape
from typing import Any

from ..runs.prompt_cost import PromptCost, VariantCost, interval, percent, tokens

HEAD = ["model", "variant", "prompt tokens", "pass rate", "95% interval", "p50 ms", "cost/call", ""]


def title(cost: PromptCost) -> str:
    return (
        f"prompt cost by variant × model (cheapest: pass rate within {cost.tolerance * 100:g} pts of the model's best)"
    )


def cells(cost: PromptCost) -> list[list[str]]:
    """One row of cells per (model, variant), the marks last."""
    marks: dict[tuple[str, str], list[str]] = {}
    for pick in cost.picks:
        marks.setdefault((pick.model, pick.best.variant), []).append("best")
        marks.setdefault((pick.model, pick.cheapest.variant), []).append("cheapest")
    return [_cells(row, ", ".join(marks.get((row.model, row.variant), []))) for row in cost.rows]


def _cells(row: VariantCost, mark: str) -> list[str]:
    p50 = f"{row.latency_p50_ms:.0f}" if row.latency_p50_ms is not None else "-"
    price = f"${row.cost:.6f}" if row.cost is not None else "-"
    shown = interval(row.rate) if row.rate.judged else "-"
    return [row.model, row.variant, tokens(row.prompt_tokens), percent(row.rate), shown, p50, price, mark]


def markdown_lines(cost: PromptCost | None) -> list[str]:
    if cost is None:
        return []
    out = [f"**{title(cost)}**", "", "| " + " | ".join(HEAD[:-1]) + " | |", "|---|---|" + "---:|" * 5 + "---|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells(cost)]
    return [*out, *(["", cost.shorter.sentence()] if cost.shorter else []), ""]


def html_section(cost: PromptCost | None) -> str:
    if cost is None:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in HEAD)
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in cells(cost))
    tail = f"<p>{escape(cost.shorter.sentence())}</p>" if cost.shorter else ""
    return (
        f'<section id="prompt-cost"><h2>{escape(title(cost))}</h2><table><tr>{head}</tr>{rows}</table>{tail}</section>'
    )


def as_json(cost: PromptCost | None) -> dict[str, Any] | None:
    if cost is None:
        return None

    def row(v: VariantCost) -> dict[str, Any]:
        return {
            "model": v.model, "variant": v.variant, "prompt_tokens": v.prompt_tokens, "calls": v.calls,
            "passed": v.rate.passed, "judged": v.rate.judged, "pass_rate": v.rate.rate,
            "interval": list(v.rate.interval), "latency_p50_ms": v.latency_p50_ms, "cost_per_call": v.cost,
        }  # fmt: skip

    shorter = cost.shorter
    saved = None
    if shorter is not None:
        saved = {
            "candidate": shorter.candidate.model, "candidate_variant": shorter.candidate.variant,
            "baseline": shorter.baseline.model, "baseline_variant": shorter.baseline.variant,
            "saved_tokens_per_call": shorter.saved_tokens, "text": shorter.sentence(),
        }  # fmt: skip
    return {
        "variant_tolerance": cost.tolerance,
        "rows": [row(v) for v in cost.rows],
        "cheapest": {p.model: {"variant": p.cheapest.variant, "best": p.best.variant} for p in cost.picks},
        "shorter_prompt": saved,
    }
