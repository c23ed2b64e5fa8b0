"""``RunSummary``: the run's metrics, comparison and gate verdict, from its item records.

Pure (no pytest): the plugin builds it at session end from the records that reports carried
(:mod:`..listeners.aggregator`), ``promptcheck report`` from a run folder. Every output (terminal,
JSON, HTML, Markdown, junit) renders the same summary, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import GateConfig, ProjectConfig
from ..verdicts.model_graded import JUDGE_UNREADABLE
from . import metrics, thresholds
from .analysis import RunAnalysis
from .compare import REGRESSION, Comparison, compare
from .gate import Attempts, GateResult, decide, regression_pass_chance, reproduced
from .metrics import Metrics, Rate, Usage
from .prompt_cost import PromptCost, prompt_cost
from .record import ItemRecord
from .thresholds import Breach


@dataclass(frozen=True)
class RunSummary:
    """Everything the end of a run reports; ``outputs.summary_text.lines`` renders it for people."""

    models: dict[str, Metrics]
    by_variant: dict[str, dict[str, Rate]]  # variant -> model -> pass rate
    by_tag: dict[str, dict[str, Rate]]  # tag -> model -> pass rate
    breaches: tuple[Breach, ...]
    notes: tuple[str, ...]
    comparison: Comparison | None
    gate: GateResult | None
    enforced: bool  # --pc-gate: the gate decides the exit status
    settings: GateConfig
    exit_status: int | None = None
    judges: dict[str, Usage] = field(default_factory=dict)  # grader model -> its calls' usage (judge/rubric)
    drift: tuple[str, ...] = ()  # baseline vs candidate differences besides weights (chat template, ...)
    prompt_cost: PromptCost | None = None  # prompt tokens vs pass rate per variant and model (several variants)
    analysis: RunAnalysis | None = None  # weaknesses, data plan, representativeness (runs/analysis.py)


def build_summary(
    records: list[ItemRecord], project: ProjectConfig, *, enforced: bool, earlier_attempts: int | None = None
) -> RunSummary:
    """The summary of a run from its records (in any order: the result does not depend on it).

    ``earlier_attempts``: gated runs against the same baseline on the same suites before this one
    (None: not counted, e.g. the gate is not enforced).
    """
    records = sorted(records, key=lambda r: r.item)
    per_model = metrics.group_by(records, "model")
    breaches, notes = thresholds.check(records, project.candidate)
    comparison, gate = _gate(records, project, breaches, earlier_attempts)
    return RunSummary(
        models={m: metrics.compute(rs) for m, rs in per_model.items()},
        by_variant=_rates(records, "variant"),
        by_tag=_rates(records, "tags"),
        breaches=tuple(breaches),
        notes=tuple(notes),
        comparison=comparison,
        gate=gate,
        enforced=enforced,
        settings=project.gate,
        judges=metrics.judge_usage(records),
        drift=drift_of(records),
        prompt_cost=prompt_cost(records, baseline=project.baseline, candidate=project.candidate,
                                tolerance=project.prompt_cost.variant_tolerance),
    )  # fmt: skip


def drift_of(records: list[ItemRecord]) -> tuple[str, ...]:
    """The drift the items found (each process that ran both sides finds it once), each said once."""
    return tuple(dict.fromkeys(d for r in records for d in r.drift))


def _rates(records: list[ItemRecord], key: str) -> dict[str, dict[str, Rate]]:
    return {
        group: {m: metrics.accuracy(rs).rate for m, rs in metrics.group_by(group_records, "model").items()}
        for group, group_records in metrics.group_by(records, key).items()
    }


def _gate(
    records: list[ItemRecord], project: ProjectConfig, breaches: list[Breach], earlier_attempts: int | None
) -> tuple[Comparison | None, GateResult | None]:
    """The comparison and gate verdict, when both sides ran."""
    base, cand, settings = project.baseline, project.candidate, project.gate
    models = {r.model for r in records}
    if not base or not cand or base not in models or cand not in models:
        return None, None
    comparison = compare(records, base, cand, alpha=settings.alpha, method=settings.variants, mid_p=settings.mid_p)
    critical = [p for p in comparison.of_kind(REGRESSION) if "critical" in p.tags]
    counted = [p for p in critical if reproduced(p.baseline.confirmations, p.candidate.confirmations)]
    sides = [r for r in records if r.model in (base, cand)]
    errors = [r for r in sides if r.outcome == "error"]
    sampled = {(r.suite, r.case) for r in sides if r.sampled and "critical" in r.tags}
    attempts = None
    if earlier_attempts is not None:
        attempts = Attempts(earlier_attempts + 1, regression_pass_chance(comparison.stats, settings))
    gate = decide(
        comparison.stats, settings, critical=counted, unconfirmed=[p for p in critical if p not in counted],
        breaches=[b for b in breaches if b.model == cand], errors=len(errors),
        unreadable=sum(f"{JUDGE_UNREADABLE}:" in (r.error or "") for r in errors),
        sampled_critical=len(sampled), attempts=attempts,
    )  # fmt: skip
    return comparison, gate
