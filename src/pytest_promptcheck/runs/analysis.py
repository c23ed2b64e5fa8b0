"""The run's analysis in one value: its weaknesses, the data plan and the representativeness check.

Built next to the :class:`.summary.RunSummary` (the aggregator at the end of a run, ``promptcheck
report/analyze/plan`` from a run folder) and carried on it, so the terminal, the reports and the CLI
render the same numbers. Pure: the feedback counts are read by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..config import ProjectConfig
from .compare import Pair
from .data_plan import DataPlan, PlanExport, plan
from .export_selection import Source
from .feedback_summary import FeedbackCounts
from .record import ItemRecord
from .representativeness import Representativeness, compare_shares
from .weaknesses import FailureAnalysis, analyze


@dataclass(frozen=True)
class RunAnalysis:
    failures: FailureAnalysis
    plan: DataPlan
    representativeness: Representativeness


def build_analysis(
    records: Iterable[ItemRecord], project: ProjectConfig, export: PlanExport | None = None,
    feedback: FeedbackCounts | None = None, pairs: Iterable[Pair] | None = None,
    build: Callable[[Source], object | None] | None = None,
) -> RunAnalysis:  # fmt: skip
    """``pairs``: the run summary's comparison pairs, when there is one (saves pairing the records again);
    ``build``: the export format's row builder the plan counts with (:func:`.data_plan.plan`)."""
    records = list(records)
    settings = project.analysis
    failures = analyze(records, project.baseline, project.candidate, examples=settings.examples, pairs=pairs)
    has_candidate = bool(project.candidate) and any(r.side == "candidate" for r in records)
    data = plan(records, failures, export or PlanExport(), settings, alpha=project.gate.alpha,
                has_candidate=has_candidate, seed=project.seed, build=build)  # fmt: skip
    shares = compare_shares(records, data.rows, data.train(), feedback, settings.vars, factor=settings.share_factor)
    return RunAnalysis(failures, data, shares)
