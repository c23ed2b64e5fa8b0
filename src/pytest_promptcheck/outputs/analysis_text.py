"""The failure analysis and the data plan as text: the terminal summary's short part and the CLI's tables.

The terminal part appears only when something failed::

    failure analysis: 4 failing items in 4 cases (base, tuned)
      weakness                         cases  items  calls  candidate only  both  baseline only
      tag account                          2      2      2               2     0              0
      assertion equals 'account'           2      2      2               2     0              0
      - tag account: fails on the candidate only: the change broke it; ...
      memorisation trap: tag account: all 2 failing cases would be training data, leaving the gate no
        held-out case for it; export with --pc-export-split 0.8 (whole cases go to validation) or add
        cases first (promptcheck add)
      details: promptcheck analyze RUN · promptcheck plan RUN
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..runs.export_selection import SOURCES
from ..runs.weaknesses import SIDE_CLASSES, Example, Weakness
from ..textutil import clip
from .summary_text import table

if TYPE_CHECKING:
    from ..runs.analysis import RunAnalysis
    from ..runs.data_plan import DataPlan, WeaknessPlan
    from ..runs.export_selection import Source
    from ..runs.representativeness import Representativeness
    from ..runs.summary import RunSummary

TOP = 5  # weaknesses in the terminal summary
TRAPS = 3  # memorisation traps in the terminal summary, tags first
OUTPUT_CHARS = 160


def summary_lines(summary: RunSummary) -> list[str]:
    """The terminal's short part: the top weaknesses and the traps, only when something failed."""
    analysis = summary.analysis
    if analysis is None or not analysis.failures.failing_items:
        return []
    failures = analysis.failures
    out = ["", _headline(analysis)]
    top = failures.top(TOP)
    if top:
        out += _weakness_table(top, bool(failures.baseline), indent="  ")
        out += [f"  - {w.label}: {w.hint}" for w in top[:1] if w.hint]
    traps = sorted(analysis.plan.traps, key=lambda w: (w.kind != "tag", w.key))
    out += [f"  {line}" for w in traps[:TRAPS] for line in trap_lines(w, analysis.plan)]
    out += [f"  … {len(traps) - TRAPS} more memorisation traps (promptcheck plan)"] if len(traps) > TRAPS else []
    out += [f"  representativeness: {s.label}: {_share_line(s)}" for s in analysis.representativeness.flagged[:TOP]]
    out.append("  details: promptcheck analyze RUN · promptcheck plan RUN (RUN: latest, a run id or folder)")
    return out


def _headline(analysis: RunAnalysis) -> str:
    f = analysis.failures
    return f"failure analysis: {f.failing_items} failing items in {f.failing_cases} cases ({', '.join(f.models)})" + (
        f"; {len(f.regressions)} regressions on the candidate" if f.regressions else ""
    )


def _weakness_table(weaknesses: list[Weakness], paired: bool, *, indent: str = "") -> list[str]:
    head = ["weakness", "cases", "items", "calls", *(SIDE_CLASSES if paired else ())]
    rows = [head]
    for w in weaknesses:
        rows.append([clip(w.short, 60), str(w.cases), str(w.items), str(w.calls),
                     *(str(w.sides.get(s, 0)) for s in (SIDE_CLASSES if paired else ()))])  # fmt: skip
    return table(rows, indent=indent)


def trap_lines(w: WeaknessPlan, data: DataPlan) -> list[str]:
    if data.split is None:
        return [
            f"memorisation trap: {w.label}: all {w.failing_cases} failing cases would be training data, leaving "
            "the gate no held-out case for it; export with --pc-export-split 0.8 (whole cases go to validation) "
            "or add cases first (promptcheck add)"
        ]
    return [
        f"memorisation trap: {w.label}: all {w.failing_cases} failing cases would be training data even with the "
        f"split {data.split:g} (whole cases drawn with seed {data.export.seed}: {w.held_out_failing} failing cases "
        "held out), so the gate cannot see a gain; add cases first (promptcheck add)"
    ]


def _share_line(share: Any) -> str:
    ratio = "only in the export" if share.ratio == float("inf") else f"{share.ratio:.2f}×"
    ref = share.feedback_share if share.reference == "feedback" else share.suite_share
    return f"{share.export_share:.0%} of the export vs {ref or 0:.0%} of the {share.reference} ({ratio})"


# -- promptcheck analyze ---------------------------------------------------------------------------


def analyze_lines(analysis: RunAnalysis) -> list[str]:
    """``promptcheck analyze``: every weakness with its counts, detail, hint and examples; the regressions."""
    failures = analysis.failures
    if not failures.failing_items:
        return [f"no failing items ({', '.join(failures.models)}): nothing to analyse"]
    out = [_headline(analysis)]
    for kind in ("side", "tag", "assertion", "variant"):
        found = failures.of_kind(kind)
        if not found:
            continue
        out += ["", f"by {kind}:", *_weakness_table(found, bool(failures.baseline), indent="  ")]
        for w in found:
            out += _weakness_detail(w)
    if failures.regressions:
        out += ["", f"regressions on the candidate (pass on {failures.baseline}, fail on {failures.candidate}):"]
        for example in failures.regressions:
            out += _example(example, "  ")
    return out


def _weakness_detail(w: Weakness) -> list[str]:
    out = [f"  {w.label}:"]
    if w.path is not None or w.expected is not None:
        out.append(f"    on {w.path or 'the output'}: expected {clip(repr(w.expected), 80)}")
    if w.got:
        out.append("    got instead: " + ", ".join(f"{clip(v, 40)!r} ×{n}" for v, n in w.got.items()))
    if w.hint:
        out.append(f"    {w.hint}")
    for example in w.examples:
        out += _example(example, "    ")
    return out


def _example(example: Example, indent: str) -> list[str]:
    tags = f"  ({', '.join(example.tags)})" if example.tags else ""
    out = [f"{indent}{example.label}{tags}"]
    width = max((len(s.model) for s in example.seen), default=0)
    for seen in example.seen:
        out.append(f"{indent}  {seen.model.ljust(width)}: {seen.outcome:<6} {clip(repr(seen.output), OUTPUT_CHARS)}")
        out += [f"{indent}    - {clip(r, OUTPUT_CHARS)}" for r in seen.reasons[:2]]
    return out


# -- promptcheck plan ------------------------------------------------------------------------------


def plan_lines(analysis: RunAnalysis) -> list[str]:
    """``promptcheck plan``: the data plan per weakness, the export it implies, the traps, representativeness."""
    data = analysis.plan
    out = [*_export_lines(data), ""]
    if data.weaknesses:
        out.append(
            f"per weakness (side {data.side}; cases to detect a gain of {data.gain * 100:.0f} pts with power "
            f"{data.power:g} at alpha {data.alpha:g}, one-sided paired McNemar, the case as the unit):"
        )
        out += table(_plan_rows(data.weaknesses), indent="  ")
        out.append("  held out: the weakness's cases in the suite, passing or failing, that no training row comes from")
        out += [f"  {line}" for w in data.traps for line in trap_lines(w, data)]
        out += [
            f"  - {w.label}: {w.hint}"
            for w in data.weaknesses
            if w.hint and w.failing_cases and w.kind in ("side", "tag")
        ]
    else:
        out.append("no failing items: no weakness to plan for")
    return [*out, "", *representativeness_lines(analysis.representativeness)]


def _export_lines(data: DataPlan) -> list[str]:
    """What the export writes with the plan's choices: the same rows (:mod:`..runs.export_selection`)."""
    e = data.export
    train, validation = data.train(), data.validation
    choices = [f"side {data.side}", f"target {e.target}"]
    choices += [f"variants {e.variants}"] if e.variants != "failing" else []
    choices += [f"rehearsal {e.rehearsal:g}"] if e.rehearsal else []
    choices += [f"balance {e.balance}"] if e.balance != "none" else []
    choices.append("no split" if e.split is None else f"split {e.split:g} by case")
    choices += [f"seed {e.seed}"] if e.split is not None or e.rehearsal or e.balance != "none" else []
    line = f"export ({', '.join(choices)}): {len(train)} training rows from {_cases(train)} cases"
    kinds = {s.kind for s in train} - {"failing"}
    if kinds:
        line += " (" + ", ".join(f"{sum(s.kind == k for s in train)} {k}" for k in SOURCES) + ")"
    if e.split is not None and e.split < 1:
        line += f"; {len(validation)} validation rows from {_cases(validation)} cases"
    lines = [f"{line}; {data.count('needs label')} need a label"]
    if e.target == "ideal" and data.count("passing"):
        lines.append(f"  {data.count('passing')} more rows with --pc-export-target passing (another model passed them)")
    return lines


def _cases(rows: Iterable[Source]) -> int:
    return len({(s.suite, s.case) for s in rows})


def _plan_rows(weaknesses: tuple[WeaknessPlan, ...]) -> list[list[str]]:
    head = ["weakness", "failing", "ideal", "passing", "label", "train", "suite", "held out", "to detect", "enough"]
    rows = [head]
    for w in weaknesses:
        rows.append([clip(w.short or w.label, 50), str(w.failing_cases), str(w.ideal_rows), str(w.passing_rows),
                     str(w.needs_label), str(w.train_rows), str(w.suite_cases), f"{w.held_out:g}",
                     str(w.cases_to_detect), "yes" if w.enough else "no"])  # fmt: skip
    return rows


def representativeness_lines(rep: Representativeness) -> list[str]:
    if not rep.shares:
        return ["representativeness: no tags or chosen vars to compare"]
    feedback = f", feedback {rep.feedback_rows} rows" if rep.feedback_rows is not None else ", no feedback summary"
    out = [
        f"representativeness (suite {rep.suite_cases} cases, export {rep.export_rows} rows{feedback}; "
        f"reference: {rep.reference}; flagged beyond {rep.factor:g}×):"
    ]
    rows = [["group", "suite", "export", "feedback", "ratio", "flag"]]
    for s in rep.shares:
        ratio = "-" if s.ratio is None else ("inf" if s.ratio == float("inf") else f"{s.ratio:.2f}")
        fed = "-" if s.feedback_share is None else f"{s.feedback_share:.0%} ({s.feedback})"
        rows.append([clip(s.label, 40), f"{s.suite_share:.0%} ({s.suite})", f"{s.export_share:.0%} ({s.export})",
                     fed, ratio, "FLAG" if s.flagged else ""])  # fmt: skip
    return out + table(rows, indent="  ")
