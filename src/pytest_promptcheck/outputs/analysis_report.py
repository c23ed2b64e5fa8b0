"""The failure analysis, the data plan and representativeness in the reports: JSON, Markdown and HTML.

``analysis_json`` is also what ``promptcheck analyze/plan --json`` print. The Markdown and HTML
sections carry the full tables; example outputs are clipped (the JSON keeps them whole).
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

from ..runs.export_selection import SOURCES
from ..runs.weaknesses import SIDE_CLASSES, Example, Weakness
from ..textutil import clip

if TYPE_CHECKING:
    from ..runs.analysis import RunAnalysis
    from ..runs.data_plan import DataPlan, WeaknessPlan
    from ..runs.representativeness import Representativeness

OUTPUT_CHARS = 300
MD_ROWS = 25  # rows per Markdown table: the summary must fit a pull-request comment


# -- JSON ------------------------------------------------------------------------------------------


def analysis_json(analysis: RunAnalysis) -> dict[str, Any]:
    return {"failures": failures_json(analysis), "plan": plan_json(analysis.plan),
            "representativeness": shares_json(analysis.representativeness)}  # fmt: skip


def failures_json(analysis: RunAnalysis) -> dict[str, Any]:
    f = analysis.failures
    return {
        "models": list(f.models), "baseline": f.baseline, "candidate": f.candidate,
        "failing_items": f.failing_items, "failing_cases": f.failing_cases, "failing_calls": f.failing_calls,
        "weaknesses": [_weakness_json(w) for w in f.weaknesses],
        "regressions": [_example_json(e) for e in f.regressions],
    }  # fmt: skip


def _weakness_json(w: Weakness) -> dict[str, Any]:
    return {
        "kind": w.kind, "key": w.key, "cases": w.cases, "items": w.items, "calls": w.calls, "sides": w.sides,
        "path": w.path, "expected": w.expected, "got": w.got, "hint": w.hint,
        "slots": [list(s) for s in w.slots], "examples": [_example_json(e) for e in w.examples],
    }  # fmt: skip


def _example_json(e: Example) -> dict[str, Any]:
    seen = [{"model": s.model, "side": s.side, "outcome": s.outcome, "output": s.output, "reasons": list(s.reasons)}
            for s in e.seen]  # fmt: skip
    return {"suite": e.suite, "case": e.case, "variant": e.variant, "tags": list(e.tags), "seen": seen}


def plan_json(data: DataPlan) -> dict[str, Any]:
    train = data.train()
    return {
        "side": data.side, "target": data.target, "split": data.split, "gain": data.gain, "power": data.power,
        "alpha": data.alpha,
        # The rows the export writes with these choices (the manifest's counts.train/validation, rows.sources).
        "export": {"rows": len(train), "cases": len({(r.suite, r.case) for r in train}),
                   "validation": len(data.validation), "validation_cases": len({(r.suite, r.case) for r in data.validation}),
                   "sources": {k.replace("-", "_"): data.sources().get(k, 0) for k in SOURCES},
                   "ideal": data.count("ideal"), "passing": data.count("passing"),
                   "needs_label": data.count("needs label")},
        "choices": {"variants": data.export.variants, "rehearsal": data.export.rehearsal,
                    "balance": data.export.balance, "seed": data.export.seed},
        "weaknesses": [_plan_json(w) for w in data.weaknesses],
        "traps": [w.label for w in data.traps],
    }  # fmt: skip


def _plan_json(w: WeaknessPlan) -> dict[str, Any]:
    return {
        "kind": w.kind, "key": w.key, "failing_cases": w.failing_cases, "ideal_rows": w.ideal_rows,
        "passing_rows": w.passing_rows, "needs_label": w.needs_label, "train_rows": w.train_rows,
        "train_cases": w.train_cases, "suite_cases": w.suite_cases, "held_out": w.held_out,
        "held_out_failing": w.held_out_failing,
        "discordance": w.discordance, "cases_to_detect_gain": w.cases_to_detect, "enough": w.enough,
        "power_now": w.power_now, "memorisation_trap": w.trap, "hint": w.hint,
    }  # fmt: skip


def shares_json(rep: Representativeness) -> dict[str, Any]:
    def ratio(value: float | None) -> float | None:
        return None if value is None or math.isinf(value) else value  # JSON has no infinity: only_export says it

    shares = [{"group": s.group, "value": s.value, "suite": s.suite, "export": s.export, "feedback": s.feedback,
               "suite_share": s.suite_share, "export_share": s.export_share, "feedback_share": s.feedback_share,
               "ratio": ratio(s.ratio), "only_export": s.ratio is not None and math.isinf(s.ratio),
               "flagged": s.flagged} for s in rep.shares]  # fmt: skip
    return {"factor": rep.factor, "reference": rep.reference, "suite_cases": rep.suite_cases,
            "export_rows": rep.export_rows, "feedback_rows": rep.feedback_rows, "shares": shares}  # fmt: skip


# -- Markdown --------------------------------------------------------------------------------------


def markdown_section(analysis: RunAnalysis, cell: Any) -> str:
    """The Markdown section (``cell`` escapes table text: :func:`.markdown.cell`)."""
    f = analysis.failures
    if not f.failing_items:
        return "\n### Failure analysis\n\nNo failing items.\n"
    paired = bool(f.baseline)
    sides = list(SIDE_CLASSES) if paired else []
    out = [f"\n### Failure analysis: {f.failing_items} failing items in {f.failing_cases} cases\n",
           "| weakness | cases | items | calls | " + "".join(f"{s} | " for s in sides) + "where to look |",
           "|---|---:|---:|---:|" + "---:|" * len(sides) + "---|"]  # fmt: skip
    for w in f.weaknesses[:MD_ROWS]:  # no outputs here: the PR summary quotes only changed cases
        counts = "".join(f"{w.sides.get(s, 0)} | " for s in sides)
        detail = f" (on {w.path})" if w.path else ""
        out.append(f"| {cell(w.label + detail)} | {w.cases} | {w.items} | {w.calls} | {counts}{cell(w.hint)} |")
    out += _more(len(f.weaknesses))
    data = analysis.plan
    out += [f"\n### Data plan (side {data.side}, target {data.target})\n",
            f"Cases to detect a gain of {data.gain * 100:.0f} pts (power {data.power:g}, alpha {data.alpha:g}, "
            "paired one-sided McNemar; not the gate's non-inferiority \"cases needed\").\n",
            "| weakness | failing | ideal | passing | needs label | train | suite | held out | to detect | enough | trap |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]  # fmt: skip
    for p in data.weaknesses[:MD_ROWS]:
        out.append(f"| {cell(p.label)} | {p.failing_cases} | {p.ideal_rows} | {p.passing_rows} | {p.needs_label} | "
                   f"{p.train_rows} | {p.suite_cases} | {p.held_out:g} | {p.cases_to_detect} | "
                   f"{'yes' if p.enough else 'no'} | {'⚠️ memorisation' if p.trap else ''} |")  # fmt: skip
    out += _more(len(data.weaknesses))
    out += _markdown_shares(analysis.representativeness, cell)
    return "\n".join(out) + "\n"


def _described(w: Weakness) -> str:
    detail = f" (on {w.path})" if w.path else ""
    got = f"; got {', '.join(f'{v!r} ×{n}' for v, n in w.got.items())}" if w.got else ""
    return f"{w.label}{detail}{got}"


def _markdown_shares(rep: Representativeness, cell: Any) -> list[str]:
    if not rep.shares:
        return []
    out = [f"\n### Representativeness (reference: {rep.reference}, flagged beyond {rep.factor:g}×)\n",
           "| group | suite | export | feedback | flag |", "|---|---:|---:|---:|---|"]  # fmt: skip
    for s in rep.shares[:MD_ROWS]:
        fed = "–" if s.feedback_share is None else f"{s.feedback_share:.0%} ({s.feedback})"
        out.append(f"| {cell(s.label)} | {s.suite_share:.0%} ({s.suite}) | {s.export_share:.0%} ({s.export}) | "
                   f"{fed} | {'⚠️' if s.flagged else ''} |")  # fmt: skip
    return out + _more(len(rep.shares))


def _more(count: int) -> list[str]:
    return [f"\n… {count - MD_ROWS} more rows in the JSON report (`--pc-report json:PATH`)."] if count > MD_ROWS else []


# -- HTML ------------------------------------------------------------------------------------------


def html_section(analysis: RunAnalysis) -> str:
    f = analysis.failures
    if not f.failing_items:
        return '<section id="analysis"><h2>Failure analysis</h2><p>No failing items.</p></section>'
    sides = list(SIDE_CLASSES) if f.baseline else []
    head = _tr(["weakness", "cases", "items", "calls", *sides, "where to look"], "th")
    rows = [_tr([_described(w), w.cases, w.items, w.calls, *(w.sides.get(s, 0) for s in sides), w.hint])
            for w in f.weaknesses]  # fmt: skip
    examples = "".join(_html_example(e) for w in f.top(5) for e in w.examples[:1])
    regressions = "".join(_html_example(e) for e in f.regressions)
    parts = [
        f'<section id="analysis"><h2>Failure analysis</h2><p>{f.failing_items} failing items in '
        f"{f.failing_cases} cases ({escape(', '.join(f.models))})</p><table>{head}{''.join(rows)}</table>",
        f"<h3>Examples</h3>{examples}" if examples else "",
        f"<h3>Regressions on the candidate</h3>{regressions}" if regressions else "",
        "</section>",
        _html_plan(analysis.plan),
        _html_shares(analysis.representativeness),
    ]
    return "".join(parts)


def _html_plan(data: DataPlan) -> str:
    head = _tr(["weakness", "failing", "ideal", "passing", "needs label", "train", "suite", "held out",
                "to detect a gain", "enough", "trap"], "th")  # fmt: skip
    rows = [_tr([p.label, p.failing_cases, p.ideal_rows, p.passing_rows, p.needs_label, p.train_rows, p.suite_cases,
                 f"{p.held_out:g}", p.cases_to_detect, "yes" if p.enough else "no", "memorisation" if p.trap else ""])
            for p in data.weaknesses]  # fmt: skip
    return (
        f'<section id="plan"><h2>Data plan</h2><p>side {escape(data.side)}, target {escape(data.target)}; cases to '
        f"detect a gain of {data.gain * 100:.0f} pts with power {data.power:g} at alpha {data.alpha:g}</p>"
        f"<table>{head}{''.join(rows)}</table></section>"
    )


def _html_shares(rep: Representativeness) -> str:
    head = _tr(["group", "suite", "export", "feedback", "flag"], "th")
    rows = [_tr([s.label, f"{s.suite_share:.0%} ({s.suite})", f"{s.export_share:.0%} ({s.export})",
                 "–" if s.feedback_share is None else f"{s.feedback_share:.0%} ({s.feedback})",
                 "flagged" if s.flagged else ""]) for s in rep.shares]  # fmt: skip
    return (
        f'<section id="representativeness"><h2>Representativeness</h2><p>reference: {escape(rep.reference)}, '
        f"flagged beyond {rep.factor:g}×</p><table>{head}{''.join(rows)}</table></section>"
    )


def _html_example(e: Example) -> str:
    seen = "".join(
        f"<li><b>{escape(s.model)}</b> ({escape(s.outcome)}): <code>{escape(clip(s.output or '', OUTPUT_CHARS))}</code>"
        + "".join(f"<br><small>{escape(clip(r, OUTPUT_CHARS))}</small>" for r in s.reasons[:2])
        + "</li>"
        for s in e.seen
    )
    return f"<p>{escape(e.label)}</p><ul>{seen}</ul>"


def _tr(cells: list[Any], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{escape(str(c))}</{tag}>" for c in cells) + "</tr>"
