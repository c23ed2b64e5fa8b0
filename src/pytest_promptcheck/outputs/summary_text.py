"""The run summary as terminal lines: pass rates, the variant table, metrics, comparison, gate.

``lines(summary)`` renders a ``RunSummary`` (:mod:`..runs.summary`); sections without data (consistency,
bias, thresholds, the comparison) are left out. A base-vs-tuned run of 4 cases on 2 prompt
variants with ``--pc-gate``::

    model  items  passed  failed  errors  pass rate  95% interval
    base       8       4       4       0      50.0%  [21.5, 78.5]
    tuned      8       6       2       0      75.0%  [40.9, 92.9]

    pass rate by prompt variant × model
    variant       base      tuned
    guided   50% (2/4)  75% (3/4)
    terse    50% (2/4)  75% (3/4)

    pass rate by tag × model
    tag             base      tuned
    critical  100% (4/4)  50% (2/4)

    latency, tokens, cost
    model  calls  p50 ms  p95 ms  max ms  tokens in  tokens out  cost
    base       8     120     120     120          -           -     -
    tuned      8      80      80      80          -           -     -

    baseline base vs candidate tuned: 4 cases, 8 pairs
      unchanged 2 · improvements 4 · regressions 2 · known gaps 0 · unpaired 0
      pass rate 50.0% → 75.0%: delta +25.0 pts, 90% interval [-41.4, +73.1] pts (Tango score)
      variants of one case are correlated: design effect 2.00 applied to the interval
      one-sided exact sign-flip test over 4 cases, variants pooled (what the gate tests): p = 0.875 (2 regressions vs 4 improvements)
      by prompt variant  pairs  base  tuned  -  +      p  Holm p
      guided                 4   50%    75%  1  2  0.875       1
      terse                  4   50%    75%  1  2  0.875       1
      by tag (descriptive)  pairs  base  tuned  -  +     p
      critical                  4  100%    50%  2  0  0.25
      regressions (pass → fail):
        test_triage.prompts.yaml::login [guided]  (critical)
          base : 'billing'
          tuned: 'account'
        test_triage.prompts.yaml::login [terse]  (critical)
          base : 'billing'
          tuned: 'account'
      improvements (fail → pass):
        test_triage.prompts.yaml::charge [guided]
        ...

    gate: REGRESSED (exit 1)
      rule: regression test (margin 0): one-sided exact sign-flip test over cases (variants pooled) at alpha 0.05
      - critical case 'login' [guided] in test_triage.prompts.yaml regressed
      - critical case 'login' [terse] in test_triage.prompts.yaml regressed
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..runs.compare import IMPROVEMENT, KNOWN_GAP, REGRESSION, Comparison, Counts, Group, Pair
from ..runs.metrics import Metrics, Rate, Usage
from ..runs.record import ItemRecord
from . import prompt_cost_text

if TYPE_CHECKING:
    from ..runs.summary import RunSummary

OUTPUT_CHARS = 160  # each side's output in the regression list
LISTED = 20  # regressions shown in full; the JSON report has them all


def lines(summary: RunSummary) -> list[str]:
    sections = [
        _models(summary.models),
        _cross("pass rate by prompt variant × model", "variant", summary.by_variant, min_rows=2),
        _cross("pass rate by tag × model", "tag", summary.by_tag, min_rows=1),
        _consistency(summary.models),
        _bias(summary.models),
        _operational(summary.models, summary.judges),
        _prompt_cost(summary),
        _thresholds(summary),
        list(_comparison(summary.comparison, summary.settings.margin)) if summary.comparison else [],
        _gate(summary),
        _drift(summary),
    ]
    out: list[str] = []
    for section in filter(None, sections):
        out += [*([""] if out else []), *section]
    return out


def table(rows: list[list[str]], *, left: int = 1, indent: str = "") -> list[str]:
    """Columns aligned: the first ``left`` columns (names) to the left, the numbers to the right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent
        + "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in rows
    ]


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _interval(rate: Rate) -> str:
    if not rate.judged:
        return "-"
    low, high = rate.interval
    return f"[{low * 100:.1f}, {high * 100:.1f}]"


def _models(models: dict[str, Metrics]) -> list[str]:
    rows = [["model", "items", "passed", "failed", "errors", "pass rate", "95% interval"]]
    for name, found in models.items():
        acc = found.accuracy
        items = acc.rate.judged + acc.errors + acc.skipped
        failed = acc.rate.judged - acc.rate.passed
        rows.append([name, str(items), str(acc.rate.passed), str(failed), str(acc.errors),
                     _pct(acc.rate.rate), _interval(acc.rate)])  # fmt: skip
    return table(rows)


def _cross(title: str, label: str, groups: dict[str, dict[str, Rate]], *, min_rows: int) -> list[str]:
    """A group × model table of pass rates, e.g. which prompt wording works on which model."""
    if len(groups) < min_rows:
        return []
    models = sorted({m for per_model in groups.values() for m in per_model})
    rows = [[label, *models]]
    for name, per_model in groups.items():
        cells = [per_model.get(m) for m in models]
        rows.append([name, *(f"{_pct(r.rate, 0)} ({r.passed}/{r.judged})" if r else "" for r in cells)])
    return [title, *table(rows)]


def _consistency(models: dict[str, Metrics]) -> list[str]:
    found = {m: x.consistency for m, x in models.items() if x.consistency is not None}
    if not found:
        return []
    rows = [["model", "items", "stable", "agree exact", "agree norm.", "pass@1", "pass@k", "pass^k", "k"]]
    flaky = []
    for model, c in found.items():
        rows.append([model, str(c.items), _pct(c.stability, 0), _pct(c.agreement_exact, 0),
                     _pct(c.agreement_normalized, 0), _pct(c.pass_at_1, 0), _pct(c.pass_at_k, 0),
                     _pct(c.pass_hat_k, 0), ",".join(map(str, c.k))])  # fmt: skip
        flaky += [f"  flaky ({model}): {item}" for item in c.flaky]
    return ["consistency over repeat samples (stable: the verdict never flips)", *table(rows), *flaky]


def _bias(models: dict[str, Metrics]) -> list[str]:
    rows = [["model", "variable", "pass rate per value", "gap", "output changed"]]
    for model, found in models.items():
        if found.bias is None:
            continue
        changed = f"{found.bias.changed}/{found.bias.groups}"
        for var in found.bias.variables:
            per_value = " · ".join(f"{v} {_pct(r.rate, 0)}" for v, r in var.rates)
            rows.append([model, var.variable, per_value, f"{var.gap * 100:.0f} pts", changed])
    return ["bias over counterfactual values", *table(rows, left=3)] if len(rows) > 1 else []


def _operational(models: dict[str, Metrics], judges: dict[str, Usage]) -> list[str]:
    """Per model, then one line per grader model (``judge NAME``: the calls judge/rubric made). TTFT
    p50/p95 columns only when some call streamed."""
    streamed = any(found.ttft is not None for found in models.values())
    ttft_head = ["ttft p50", "ttft p95"] if streamed else []
    rows = [["model", "calls", "p50 ms", "p95 ms", "max ms", *ttft_head, "tokens in", "tokens out", "cost"]]
    for model, found in models.items():
        lat, first = found.latency, found.ttft
        timing = [f"{lat.p50_ms:.0f}", f"{lat.p95_ms:.0f}", f"{lat.max_ms:.0f}"] if lat else ["-"] * 3
        if streamed:
            timing += [f"{first.p50_ms:.0f}", f"{first.p95_ms:.0f}"] if first else ["-"] * 2
        rows.append([model, *_usage_cells(found.usage, timing)])
    for model, use in judges.items():
        rows.append([f"judge {model}", *_usage_cells(use, ["-"] * len(rows[0][2:-3]))])
    return ["latency, tokens, cost", *table(rows)]


def _prompt_cost(summary: RunSummary) -> list[str]:
    cost = summary.prompt_cost
    if cost is None:
        return []
    rows = [prompt_cost_text.HEAD, *prompt_cost_text.cells(cost)]
    marks = max(len(row[-1]) for row in rows)
    found = [prompt_cost_text.title(cost), *table([[*row[:-1], row[-1].ljust(marks)] for row in rows], left=2)]
    return found + ([cost.shorter.sentence()] if cost.shorter else [])


def _usage_cells(use: Usage, timing: list[str]) -> list[str]:
    cost = f"${use.cost:.4f}" if use.cost is not None else "-"
    return [str(use.calls), *timing, _count(use.input_tokens), _count(use.output_tokens), cost]


def _drift(summary: RunSummary) -> list[str]:
    if not summary.drift:
        return []
    sides = (
        f"baseline {summary.comparison.baseline!r} and candidate {summary.comparison.candidate!r}"
        if summary.comparison
        else "baseline and candidate"
    )
    return [f"warning: {sides} differ in more than weights; score differences may come from these, not from training:",
            *(f"  - {d}" for d in summary.drift)]  # fmt: skip


def _thresholds(summary: RunSummary) -> list[str]:
    if not summary.breaches and not summary.notes:
        return []
    broken = [f"  BROKEN {b.line()}" for b in summary.breaches]
    return ["suite metric thresholds", *broken, *(f"  note: {n}" for n in summary.notes)]


def _comparison(comparison: Comparison, margin: float) -> Iterator[str]:
    stats, counts = comparison.stats, comparison.stats.counts
    base, cand = comparison.baseline, comparison.candidate
    yield f"baseline {base} vs candidate {cand}: {stats.cases} cases, {counts.n} pairs"
    yield (f"  unchanged {counts.a} · improvements {counts.c} · regressions {counts.b} · known gaps {counts.d}"
           f" · unpaired {len(comparison.unpaired)}")  # fmt: skip
    conf = f"{1 - 2 * stats.alpha:.0%}"
    yield (f"  pass rate {_pct(counts.baseline_rate)} → {_pct(counts.candidate_rate)}: delta "
           f"{_pts(counts.delta)}, {conf} interval [{stats.lower * 100:+.1f}, {stats.upper * 100:+.1f}] pts "
           "(Tango score)")  # fmt: skip
    if stats.design_effect > 1:
        yield f"  variants of one case are correlated: design effect {stats.design_effect:.2f} applied to the interval"
    tally = f"({_plural(counts.b, 'regression')} vs {_plural(counts.c, 'improvement')})"
    if stats.on_samples:  # items with several calls: the test uses each case's share of passing calls
        gate_tests = " (what the gate tests)" if stats.method == "pooled" or len(stats.by_variant) < 2 else ""
        yield (f"  one-sided exact sign-flip test over {stats.cases} cases on the share of passing calls"
               f"{gate_tests}: p = {_p(stats.pooled_p)} {tally}")  # fmt: skip
    elif stats.cases == counts.n:  # one pair per case: the exact McNemar test
        yield f"  one-sided exact McNemar{' mid-p' if stats.mid_p else ''} p = {_p(stats.pooled_p)} {tally}"
    else:
        gate_tests = " (what the gate tests)" if stats.method == "pooled" else ""
        yield (f"  one-sided exact sign-flip test over {stats.cases} cases, variants pooled{gate_tests}: "
               f"p = {_p(stats.pooled_p)} {tally}")  # fmt: skip
    if len(stats.by_variant) > 1 and stats.method == "holm":
        yield f"    per prompt variant, Holm-adjusted (what the gate tests): smallest p = {_p(stats.p_value)}"
    disagreement = _disagreement(comparison) if margin == 0 else ""  # with a margin the interval decides
    if disagreement:
        yield disagreement
    if len(stats.by_variant) > 1:
        yield from _groups("by prompt variant", stats.by_variant, base, cand, holm=True)
    if comparison.by_tag:
        yield from _groups("by tag (descriptive)", comparison.by_tag, base, cand)
    yield from _pair_list("regressions (pass → fail)", comparison.of_kind(REGRESSION), base, cand, outputs=True)
    yield from _pair_list("improvements (fail → pass)", comparison.of_kind(IMPROVEMENT), base, cand)
    yield from _pair_list("known gaps (fail on both; not a regression)", comparison.of_kind(KNOWN_GAP), base, cand)
    for u in comparison.unpaired:
        yield f"  unpaired, left out: {u.suite}::{u.case} [{u.variant}]: {u.reason}"


def _disagreement(comparison: Comparison) -> str:
    """A note when the interval and the exact test disagree, as they can on small suites."""
    stats = comparison.stats
    significant = stats.p_value <= stats.alpha
    if significant == (stats.upper < 0):
        return ""
    side = (
        "excludes 0 but the exact test is not significant"
        if not significant
        else "includes 0 but the exact test is significant"
    )
    return (f"  note: the score interval {side}: at {stats.counts.b + stats.counts.c} discordant pairs the "
            "approximate interval and the exact test can disagree; the gate follows the exact test")  # fmt: skip


def _groups(title: str, groups: dict[str, Group], base: str, cand: str, *, holm: bool = False) -> list[str]:
    """Per variant or tag: pass rates on both sides, regressions (-) and improvements (+), McNemar p."""
    rows = [[title, "pairs", base, cand, "-", "+", "p", *(["Holm p"] if holm else [])]]
    for name, group in groups.items():
        c: Counts = group.counts
        rows.append([name, str(c.n), _pct(c.baseline_rate, 0), _pct(c.candidate_rate, 0), str(c.b), str(c.c),
                     _p(group.p_value), *([_p(group.adjusted)] if holm else [])])  # fmt: skip
    return table(rows, indent="  ")


def _pair_list(title: str, pairs: list[Pair], base: str, cand: str, *, outputs: bool = False) -> Iterator[str]:
    if not pairs:
        return
    yield f"  {title}:"
    width = max(len(base), len(cand))
    for pair in pairs[:LISTED]:
        critical = "  (critical)" if "critical" in pair.tags else ""
        yield f"    {label(pair)}{critical}"
        if outputs:
            yield f"      {base:<{width}}: {_output(pair.baseline)}"
            yield f"      {cand:<{width}}: {_output(pair.candidate)}"
    if len(pairs) > LISTED:
        yield f"    ... and {len(pairs) - LISTED} more (all of them: --pc-report json:PATH)"


def label(pair: Pair) -> str:
    return f"{pair.suite}::{pair.case} [{pair.variant}]"


def _output(record: ItemRecord) -> str:
    """The first failing call's output (or the first call's), on one line, clipped."""
    shown = record.shown_call()
    text = repr(shown.output) if shown is not None else "-"
    return text if len(text) <= OUTPUT_CHARS else text[: OUTPUT_CHARS - 3] + "..."


def _gate(summary: RunSummary) -> list[str]:
    gate = summary.gate
    if gate is None:
        return (
            ["gate: no case ran on both sides, nothing was compared; pytest's exit status stands"]
            if summary.enforced
            else []
        )
    head = f"gate: {gate.verdict.value.upper()} (exit {gate.exit_status})"
    if not summary.enforced:
        head = f"gate (not enforced; --pc-gate lets it decide the exit status): {gate.verdict.value.upper()}"
    elif summary.exit_status not in (None, gate.exit_status):
        head += f"; session exit {summary.exit_status} (from pytest: failing ordinary tests, errors or a stopped run)"
    rule = [f"  {gate.rule}"] if gate.rule else []
    return [head, *rule, *(f"  - {r}" for r in gate.reasons), *(f"  note: {n}" for n in gate.notes)]


def _pts(delta: float) -> str:
    return f"{delta * 100:+.1f} pts"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _p(p: float | None) -> str:
    return "-" if p is None else f"{p:.3g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
