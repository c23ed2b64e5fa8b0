"""The HTML report: one self-contained page (inline CSS and JS, nothing fetched; works offline).

The summary (gate verdict, pass rates per model, per prompt variant and per tag) is rendered here
with ``html.escape``. The cases are embedded as JSON (``<`` ``>`` ``&`` escaped, so no output can
close the script element) and rendered by the page's script with ``textContent`` only, a page at a
time, so a report of thousands of cases stays light. Filters: failed only, regressions only, tag,
and a search box; they live in the URL hash (``report.html#filter=failed,regressions&tag=t&q=x``),
so a link keeps them. When the script ran, ``<body>`` gets ``data-ready="1"`` (and
``data-trend-points``, the points the browser drew in the trend's pass-rate chart, when there is one); an uncaught
error sets ``data-error``. The trend section (:mod:`.trend_svg`) is inline SVG drawn here, not by
the script.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runs.metrics import Rate
from ..runs.record import ItemRecord
from . import prompt_cost_text
from .analysis_report import html_section
from .artifacts import scrub_records, write_text_artifact
from .redact import Redactor
from .rows import Progress, Row, build_rows, model_order
from .trend_svg import CSS as TREND_CSS
from .trend_svg import trend_section

if TYPE_CHECKING:
    from ..runs.summary import RunSummary
    from ..runs.trend import TrendPoint


def write_html(
    path: Path, summary: RunSummary, records: list[ItemRecord], redactor: Redactor, *,
    title: str = "promptcheck report", progress: Progress | None = None, trend: Sequence[TrendPoint] = (),
) -> None:  # fmt: skip
    # The cases' data is scrubbed before it is encoded (JSON and HTML escapes would hide a secret holding
    # a quote, ``<`` or ``&``); the page as a whole is scrubbed again on its way out.
    page = render(
        summary, scrub_records(records, redactor), title=title, progress=progress, scrub=redactor.data, trend=trend
    )
    write_text_artifact(path, page, redactor)


def render(
    summary: RunSummary, records: list[ItemRecord], *, title: str, progress: Progress | None = None,
    scrub: Callable[[Any], Any] = lambda data: data, trend: Sequence[TrendPoint] = (),
) -> str:  # fmt: skip
    """The page; ``trend``: the run history's points (:mod:`..runs.trend`), charted when it spans two runs."""
    rows = build_rows(records, summary, progress)
    models = model_order(records, summary)
    body = "\n".join(
        [
            f"<h1>{escape(title)}</h1>",
            _gate(summary),
            _models(summary, models),
            trend_section(trend),
            _cross("Pass rate by prompt variant", "variant", summary.by_variant, models),
            prompt_cost_text.html_section(summary.prompt_cost),
            _tags(summary, models),
            html_section(summary.analysis) if summary.analysis is not None else "",
            _cases_section(rows),
        ]
    )
    return _PAGE.format(
        title=escape(title), css=_CSS + TREND_CSS, body=body, data=script_json(scrub(_data(rows, summary))), js=_JS
    )


def script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` left raw."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(raw, escaped)
    return text


def _data(rows: list[Row], summary: RunSummary) -> dict[str, Any]:
    comparison = summary.comparison
    sides = {"baseline": comparison.baseline, "candidate": comparison.candidate} if comparison else None
    return {"rows": rows, "sides": sides}


def pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def _gate(summary: RunSummary) -> str:
    comparison, gate = summary.comparison, summary.gate
    if comparison is None or gate is None:
        return '<section class="gate none"><h2>Gate</h2><p>No baseline/candidate comparison in this run.</p></section>'
    stats = comparison.stats
    counts = stats.counts
    verdict = gate.verdict.value
    enforced = "enforced (--pc-gate)" if summary.enforced else "not enforced"
    reasons = "".join(f"<li>{escape(r)}</li>" for r in gate.reasons)
    reasons += "".join(f'<li class="muted">note: {escape(n)}</li>' for n in gate.notes)
    conf = f"{1 - 2 * stats.alpha:.0%}"
    facts = [
        f"baseline <b>{escape(comparison.baseline)}</b> → candidate <b>{escape(comparison.candidate)}</b>",
        f"{stats.cases} cases, {counts.n} pairs: {counts.a} unchanged passes · "
        f"<span class=reg>{counts.b} regressions</span> · <span class=imp>{counts.c} improvements</span> · "
        f"{counts.d} known gaps · {len(comparison.unpaired)} unpaired",
        f"pass rate {pct(counts.baseline_rate)} → {pct(counts.candidate_rate)}: delta {counts.delta * 100:+.1f} pts, "
        f"{conf} interval [{stats.lower * 100:+.1f}, {stats.upper * 100:+.1f}] pts",
        f"p = {stats.p_value:.3g} (what the gate tests)",
        escape(gate.rule),
    ]
    return (
        f'<section class="gate {escape(verdict)}" id="gate"><h2>Gate: <span class="verdict">{escape(verdict.upper())}'
        f"</span> <small>(exit {gate.exit_status}, {enforced})</small></h2>"
        f"<p>{'<br>'.join(facts)}</p><ul>{reasons}</ul></section>"
    )


def _bar(rate: Rate) -> str:
    share = rate.rate or 0.0
    low, high = rate.interval
    return (
        f'<span class="bar"><span style="width:{share * 100:.1f}%"></span></span> {pct(rate.rate)} '
        f'<span class="muted">[{low * 100:.1f}, {high * 100:.1f}]</span>'
    )


def _models(summary: RunSummary, models: list[str]) -> str:
    comparison = summary.comparison
    sides = {comparison.baseline: "baseline", comparison.candidate: "candidate"} if comparison else {}
    head = "<tr><th>model</th><th>side</th><th>passed</th><th>judged</th><th>errors</th><th>pass rate [95% CI]</th><th>p50 ms</th></tr>"
    rows = []
    for model in models:
        found = summary.models.get(model)
        if found is None:
            continue
        acc = found.accuracy
        p50 = f"{found.latency.p50_ms:.0f}" if found.latency is not None else "–"
        rows.append(
            f"<tr><td>{escape(model)}</td><td>{escape(sides.get(model, ''))}</td><td>{acc.rate.passed}</td>"
            f"<td>{acc.rate.judged}</td><td>{acc.errors}</td><td>{_bar(acc.rate)}</td><td>{p50}</td></tr>"
        )
    return f'<section id="models"><h2>Pass rate by model</h2><table>{head}{"".join(rows)}</table></section>'


def _cross(
    title: str, label: str, groups: dict[str, dict[str, Rate]], models: list[str], extra: dict[str, str] | None = None
) -> str:
    """A group × model table of pass rates; ``extra``: a paired-delta cell per group."""
    if not groups:
        return ""
    extra_head = "<th>paired Δ</th>" if extra is not None else ""
    head = f"<tr><th>{escape(label)}</th>{''.join(f'<th>{escape(m)}</th>' for m in models)}{extra_head}</tr>"
    rows = []
    for name, by_model in groups.items():
        cells = "".join(_rate_cell(by_model.get(m)) for m in models)
        tail = f"<td>{extra.get(name, '')}</td>" if extra is not None else ""
        rows.append(f"<tr><td>{escape(name)}</td>{cells}{tail}</tr>")
    return f'<section id="{escape(label)}s"><h2>{escape(title)}</h2><table>{head}{"".join(rows)}</table></section>'


def _rate_cell(rate: Rate | None) -> str:
    if rate is None:
        return "<td></td>"
    return f"<td>{pct(rate.rate, 0)} <span class=muted>({rate.passed}/{rate.judged})</span></td>"


def _tags(summary: RunSummary, models: list[str]) -> str:
    deltas = None
    if summary.comparison is not None:
        deltas = {
            tag: f"{g.counts.delta * 100:+.0f} pts <span class=muted>(−{g.counts.b} / +{g.counts.c})</span>"
            for tag, g in summary.comparison.by_tag.items()
        }
    return _cross("Pass rate by tag", "tag", summary.by_tag, models, deltas)


def _cases_section(rows: list[Row]) -> str:
    tags = sorted({t for r in rows for t in r["tags"]})
    options = "".join(f'<option value="{escape(t, quote=True)}">{escape(t)}</option>' for t in tags)
    counts = (
        f"{len(rows)} cases · {sum(r['failed'] for r in rows)} with a failure · "
        f"{sum(r['kind'] == 'regression' for r in rows)} regressions · "
        f"{sum(r['kind'] == 'improvement' for r in rows)} improvements"
    )
    return (
        '<section id="cases"><h2>Cases</h2>'
        f'<p class="muted">{counts}</p>'
        '<div class="controls">'
        '<label><input type="checkbox" id="f-failed"> failed only</label>'
        '<label><input type="checkbox" id="f-regressions"> regressions only</label>'
        f'<label>tag <select id="f-tag"><option value="">all</option>{options}</select></label>'
        '<input type="search" id="f-q" placeholder="search case, output, reason…">'
        '<span id="status" class="muted"></span></div>'
        '<div id="rows"></div><button id="more" hidden>show more</button></section>'
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body>
{body}
<script type="application/json" id="pc-data">{data}</script>
<script>{js}</script>
</body></html>
"""

_CSS = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg2:#f6f8fa;--red:#cf222e;--green:#1a7f37;--amber:#9a6700}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);margin:0 auto;padding:16px 24px;max-width:1400px}
h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:20px 0 8px}
table{border-collapse:collapse;margin:4px 0}th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left}
th{background:var(--bg2);font-weight:600}.muted{color:var(--muted)}
.bar{display:inline-block;width:120px;height:9px;background:#eaeef2;border-radius:4px;vertical-align:middle;overflow:hidden}
.bar span{display:block;height:100%;background:var(--green)}
.gate{border:1px solid var(--line);border-left:6px solid var(--muted);border-radius:6px;padding:4px 16px;background:var(--bg2)}
.gate.pass{border-left-color:var(--green)}.gate.regressed{border-left-color:var(--red)}
.gate.inconclusive,.gate.infrastructure{border-left-color:var(--amber)}
.gate.pass .verdict{color:var(--green)}.gate.regressed .verdict{color:var(--red)}.gate.inconclusive .verdict,.gate.infrastructure .verdict{color:var(--amber)}
.reg{color:var(--red)}.imp{color:var(--green)}
.controls{display:flex;gap:16px;align-items:center;flex-wrap:wrap;position:sticky;top:0;background:#fff;padding:8px 0;border-bottom:1px solid var(--line);z-index:1}
#f-q{flex:1;min-width:220px;padding:4px 8px}
.case{border:1px solid var(--line);border-radius:6px;margin:10px 0;overflow:hidden}
.case>.head{background:var(--bg2);padding:5px 10px;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.case .id{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-weight:600}
.badge{font-size:12px;border-radius:10px;padding:0 8px;border:1px solid var(--line);background:#fff}
.badge.regression{color:#fff;background:var(--red);border-color:var(--red)}
.badge.improvement{color:#fff;background:var(--green);border-color:var(--green)}
.badge.tag{color:var(--muted)}
.cells{display:grid;grid-auto-flow:column;grid-auto-columns:minmax(0,1fr)}
.cell{padding:6px 10px;border-left:1px solid var(--line)}.cell:first-child{border-left:0}
.cell .who{font-size:12px;color:var(--muted)}
.out{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px;margin:4px 0;max-height:22em;overflow:auto}
.passed .outcome{color:var(--green)}.failed .outcome,.error .outcome{color:var(--red)}
del{background:#ffebe9;color:#82071e;text-decoration:none}ins{background:#dafbe1;color:#116329;text-decoration:none}
.reasons{margin:2px 0;padding-left:18px;color:var(--muted);font-size:12px}
#more{margin:10px 0;padding:6px 14px}
"""

_JS = r"""
(function () {
  "use strict";
  window.addEventListener("error", function (e) { document.body.setAttribute("data-error", String(e.message)); });
  var PAGE = 100;
  var data = JSON.parse(document.getElementById("pc-data").textContent);
  var rows = data.rows, sides = data.sides;
  var shown = 0, matches = [];
  var box = document.getElementById("rows"), more = document.getElementById("more");
  var status = document.getElementById("status");
  var ctl = {failed: document.getElementById("f-failed"), regressions: document.getElementById("f-regressions"),
             tag: document.getElementById("f-tag"), q: document.getElementById("f-q")};
  rows.forEach(function (r) {
    var parts = [r.suite, r.case, r.variant, r.tags.join(" ")];
    r.cells.forEach(function (c) {
      parts.push(c.model, c.output || "", c.error || "", c.reasons.join(" "));
      c.calls.forEach(function (k) { parts.push(k.output || ""); });
    });
    r.text = parts.join("\n").toLowerCase();
  });

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var filters = (params.get("filter") || "").split(",");
    ctl.failed.checked = filters.indexOf("failed") >= 0;
    ctl.regressions.checked = filters.indexOf("regressions") >= 0;
    ctl.tag.value = params.get("tag") || "";
    ctl.q.value = params.get("q") || "";
  }
  function writeHash() {
    var params = new URLSearchParams(), filters = [];
    if (ctl.failed.checked) filters.push("failed");
    if (ctl.regressions.checked) filters.push("regressions");
    if (filters.length) params.set("filter", filters.join(","));
    if (ctl.tag.value) params.set("tag", ctl.tag.value);
    if (ctl.q.value) params.set("q", ctl.q.value);
    history.replaceState(null, "", "#" + params.toString());
  }
  function keep(r) {
    if (ctl.failed.checked && !r.failed) return false;
    if (ctl.regressions.checked && r.kind !== "regression") return false;
    if (ctl.tag.value && r.tags.indexOf(ctl.tag.value) < 0) return false;
    var q = ctl.q.value.trim().toLowerCase();
    return !q || r.text.indexOf(q) >= 0;
  }
  function output(cell, r) {
    var pre = el("div", "out");
    if (cell.output === null) { pre.appendChild(el("span", "muted", cell.outcome === "absent" ? "(did not run)" : "(no output)")); return pre; }
    var side = !sides ? null : cell.model === sides.baseline ? "-" : cell.model === sides.candidate ? "+" : null;
    if (!sides && r.cells.length === 2) side = cell.model === r.cells[0].model ? "-" : "+";
    if (!r.diff || !side) { pre.textContent = cell.output; return pre; }
    r.diff.forEach(function (d) {
      if (d[0] === "=") pre.appendChild(document.createTextNode(d[1]));
      else if (d[0] === side) pre.appendChild(el(side === "-" ? "del" : "ins", null, d[1]));
    });
    return pre;
  }
  function card(r) {
    var node = el("div", "case" + (r.failed ? " has-failure" : "") + (r.kind ? " " + r.kind.replace(" ", "-") : ""));
    var head = el("div", "head");
    head.appendChild(el("span", "id", r.suite + "::" + r.case + " [" + r.variant + "]"));
    if (r.kind && r.kind !== "unchanged") head.appendChild(el("span", "badge " + r.kind.replace(" ", "-"), r.kind));
    r.tags.forEach(function (t) { head.appendChild(el("span", "badge tag", t)); });
    node.appendChild(head);
    var cells = el("div", "cells");
    r.cells.forEach(function (c) {
      var cell = el("div", "cell " + c.outcome);
      var who = el("div", "who");
      who.appendChild(el("b", null, c.model));
      who.appendChild(document.createTextNode(" · "));
      who.appendChild(el("span", "outcome", c.outcome));
      if (c.samples) who.appendChild(document.createTextNode(" · " + c.samples));
      cell.appendChild(who);
      cell.appendChild(output(c, r));
      if (c.error) cell.appendChild(el("div", "out muted", c.error));
      if (c.reasons.length) {
        var list = el("ul", "reasons");
        c.reasons.forEach(function (x) { list.appendChild(el("li", null, x)); });
        cell.appendChild(list);
      }
      if (c.calls.length) {  // every sample and counterfactual value, grouped by value
        var all = el("details", "calls");
        all.appendChild(el("summary", null, "all " + c.calls.length + " calls"));
        c.calls.forEach(function (k) {
          all.appendChild(el("div", "who", (k.passed === false ? "✗ " : k.passed ? "✓ " : "") + k.label));
          all.appendChild(el("div", "out", k.output === null ? "(no output)" : k.output));
          if (k.reasons.length) all.appendChild(el("div", "reasons", k.reasons.join("; ")));
        });
        cell.appendChild(all);
      }
      cells.appendChild(cell);
    });
    node.appendChild(cells);
    return node;
  }
  function renderMore() {
    var frag = document.createDocumentFragment(), end = Math.min(matches.length, shown + PAGE);
    for (; shown < end; shown++) frag.appendChild(card(matches[shown]));
    box.appendChild(frag);
    more.hidden = shown >= matches.length;
    status.textContent = "showing " + shown + " of " + matches.length + " matching cases (" + rows.length + " in all)";
  }
  function apply() {
    matches = rows.filter(keep);
    shown = 0;
    box.textContent = "";
    renderMore();
  }
  function changedControl() { writeHash(); apply(); }
  readHash();
  [ctl.failed, ctl.regressions, ctl.tag].forEach(function (c) { c.addEventListener("change", changedControl); });
  var timer = null;
  ctl.q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(changedControl, 120); });
  window.addEventListener("hashchange", function () { readHash(); apply(); });
  more.addEventListener("click", renderMore);
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      if (entries[0].isIntersecting && !more.hidden) renderMore();
    }).observe(more);
  }
  apply();
  if (document.getElementById("trend")) {  // the points the browser drew in the trend's pass-rate chart
    document.body.setAttribute("data-trend-points", String(document.querySelectorAll("#trend-pass-rate svg circle.pt").length));
  }
  document.body.setAttribute("data-ready", "1");
})();
"""
