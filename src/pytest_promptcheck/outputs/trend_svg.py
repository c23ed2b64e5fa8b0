"""The HTML report's trend section: plain inline SVG charts of the run history (no script, no library).

Three charts share one x axis, the runs oldest first: pass rate with its 95% interval as a band,
consistency (stable share of repeated items) and bias gap (the widest counterfactual pass-rate
gap), one coloured line per model/checkpoint (:class:`..runs.trend.TrendPoint` ``label``). A run
that gated marks its candidate's point with a ring in the verdict's colour and writes the verdict
above the pass-rate chart. Every point is a ``<circle class="pt">`` with a ``<title>`` tooltip;
text goes through ``html.escape``, so a model name cannot break out of the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from ..runs.trend import TrendPoint, series

_W, _H = 760, 190  # one chart's drawing area, in px
_LEFT, _RIGHT, _TOP, _BOTTOM = 46, 48, 22, 34
_PALETTE = ("#0969da", "#bc4c00", "#8250df", "#1a7f37", "#cf222e", "#9a6700", "#116329", "#6639ba", "#57606a")
_VERDICT = {"pass": "#1a7f37", "regressed": "#cf222e", "inconclusive": "#9a6700", "infrastructure": "#9a6700"}

Value = Callable[[TrendPoint], "float | None"]


def trend_section(points: Sequence[TrendPoint]) -> str:
    """The ``<section id="trend">``; empty when the history holds fewer than two runs (nothing to trend)."""
    runs = sorted({p.run_id for p in points})  # run ids begin with their start time
    if len(runs) < 2:
        return ""
    x_of = {run_id: i for i, run_id in enumerate(runs)}
    lines = series(points)
    colours = {label: _PALETTE[i % len(_PALETTE)] for i, label in enumerate(lines)}
    gap_top = max(0.25, *(p.bias_gap or 0.0 for p in points))
    charts = [
        _chart("pass-rate", "Pass rate (95% interval)", lines, colours, x_of, lambda p: p.rate.rate, 1.0, band=True),
        _chart("consistency", "Consistency (stable share of repeated items)", lines, colours, x_of,
               lambda p: p.stability, 1.0),
        _chart("bias-gap", "Bias gap (max − min pass rate over counterfactual values)", lines, colours, x_of,
               lambda p: p.bias_gap, gap_top),
    ]  # fmt: skip
    legend = "".join(
        f'<li><span class="swatch" style="background:{colours[label]}"></span>{escape(label)}</li>' for label in lines
    )
    first, last = runs[0], runs[-1]
    return (
        f'<section id="trend"><h2>Trend across {len(runs)} runs</h2>'
        f'<p class="muted">oldest first: {escape(first)} … {escape(last)}; a ring marks a gated candidate '
        f'(<span style="color:{_VERDICT["pass"]}">pass</span> · <span style="color:{_VERDICT["regressed"]}">'
        f'regressed</span> · <span style="color:{_VERDICT["inconclusive"]}">inconclusive</span>)</p>'
        f'<ul class="legend">{legend}</ul>{"".join(charts)}</section>'
    )


def _chart(
    name: str, title: str, lines: dict[str, list[TrendPoint]], colours: dict[str, str], x_of: dict[str, int],
    value: Value, top: float, *, band: bool = False,
) -> str:  # fmt: skip
    width, height = _LEFT + _W + _RIGHT, _TOP + _H + _BOTTOM
    step = _W / max(1, len(x_of) - 1)

    dodge = {label: (i - (len(lines) - 1) / 2) * 3 for i, label in enumerate(lines)}  # equal values stay visible

    def x(point: TrendPoint) -> float:
        return _LEFT + x_of[point.run_id] * step + dodge[point.label]

    def y(v: float) -> float:
        return _TOP + _H * (1 - min(v, top) / top)

    parts = [_axes(x_of, step, top, y)]
    for label, found in lines.items():
        shown = [p for p in found if value(p) is not None]
        colour = colours[label]
        if band and shown:
            upper = [f"{x(p):.1f},{y(p.rate.interval[1]):.1f}" for p in shown]
            lower = [f"{x(p):.1f},{y(p.rate.interval[0]):.1f}" for p in reversed(shown)]
            parts.append(
                f'<polygon class="band" points="{" ".join(upper + lower)}" fill="{colour}" fill-opacity="0.13"/>'
            )
        if len(shown) > 1:
            path = " ".join(f"{x(p):.1f},{y(value(p) or 0.0):.1f}" for p in shown)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for point in shown:
            parts.append(_point(point, x(point), y(value(point) or 0.0), colour, name == "pass-rate"))
    return (
        f'<figure class="chart" id="trend-{name}"><figcaption>{escape(title)}</figcaption>'
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="{escape(title, quote=True)}">{"".join(parts)}</svg></figure>'
    )


def _axes(x_of: dict[str, int], step: float, top: float, y: Callable[[float], float]) -> str:
    parts = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        level = y(tick * top)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + _W}" y1="{level:.1f}" y2="{level:.1f}" stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{_LEFT - 6}" y="{level + 4:.1f}" text-anchor="end" class="tick">{tick * top * 100:.0f}%</text>'
        )
    every = max(1, len(x_of) // 10)  # at most ~10 run labels under the axis
    for run_id, index in x_of.items():
        if index % every == 0 or index == len(x_of) - 1:
            at = _LEFT + index * step
            parts.append(f'<text x="{at:.1f}" y="{_TOP + _H + 18}" text-anchor="middle" class="tick">'
                         f"<title>{escape(run_id)}</title>{escape(_short(run_id))}</text>")  # fmt: skip
    return "".join(parts)


def _point(point: TrendPoint, cx: float, cy: float, colour: str, verdicts: bool) -> str:
    rate = point.rate
    low, high = rate.interval
    tip = (
        f"{point.label} · run {point.run_id} ({point.time})\npass {rate.passed}/{rate.judged}"
        + (f" = {rate.rate:.1%} [{low:.1%}, {high:.1%}]" if rate.rate is not None else "")
        + (f"\nstable {point.stability:.0%} of {point.repeated} repeated items" if point.stability is not None else "")
        + (f"\nbias gap {point.bias_gap * 100:.1f} pts" if point.bias_gap is not None else "")
        + (f"\nprompt {point.prompt_tokens:.0f} tokens per call" if point.prompt_tokens is not None else "")
        + (f"\ngate {point.gate}" + (" (enforced)" if point.enforced else "") if point.gate else "")
    )
    dot = f'<circle class="pt" cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{colour}"><title>{escape(tip)}</title></circle>'
    if point.gate is None:
        return dot
    ring = _VERDICT.get(point.gate, "#57606a")
    mark = (
        f'<circle class="gate {escape(point.gate, quote=True)}" cx="{cx:.1f}" cy="{cy:.1f}" r="8" fill="none" '
        f'stroke="{ring}" stroke-width="2.5"/>'
    )
    if verdicts:
        mark += (
            f'<text class="verdict-mark" x="{cx:.1f}" y="{_TOP - 7}" text-anchor="middle" fill="{ring}">'
            f"{escape(point.gate)}</text>"
        )
    return mark + dot


def _short(run_id: str) -> str:
    """``20261201T232651.140Z-6f7211`` -> ``12-01 23:26:51``."""
    if len(run_id) >= 15 and run_id[8] == "T":
        return f"{run_id[4:6]}-{run_id[6:8]} {run_id[9:11]}:{run_id[11:13]}:{run_id[13:15]}"
    return run_id[:12]


CSS = """
#trend .legend{list-style:none;padding:0;margin:4px 0;display:flex;gap:18px;flex-wrap:wrap}
#trend .swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
#trend .chart{margin:6px 0 10px}#trend figcaption{font-weight:600;font-size:13px}
#trend .tick{font-size:11px;fill:#656d76}#trend .verdict-mark{font-size:11px;font-weight:600}
"""
