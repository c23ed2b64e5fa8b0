"""``RunAggregator``: the run's metrics, comparison and gate, built on the controller from reports.

Registered as a plugin in ``pytest_configure`` (like xdist's ``DSession``). It keeps the result
record of every prompt item's final report and notes whether anything else failed; at
``pytest_sessionfinish`` it builds one ``RunSummary``, sets the exit status, writes the
``--pc-report`` files and the junitxml properties. The terminal summary prints the same
``RunSummary``, so every output agrees. pytest-xdist workers do nothing here: their reports reach
the controller, which is why ``-n 2`` gives the same summary as a run without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from . import metrics, thresholds
from .compare import REGRESSION, Comparison, compare
from .config import GateConfig, ProjectConfig
from .gate import GateResult, decide, session_exit_status, threshold_exit_status
from .metrics import Metrics, Rate, Record
from .results import record_of
from .thresholds import Breach


@dataclass(frozen=True)
class RunSummary:
    """Everything the end of a run reports; ``report.summary.lines`` renders it for people."""

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


def build_summary(records: list[Record], project: ProjectConfig, *, enforced: bool) -> RunSummary:
    """The summary of a run from its records (in any order: the result does not depend on it)."""
    records = sorted(records, key=lambda r: r["item"])
    per_model = metrics.group_by(records, "model")
    breaches, notes = thresholds.check(records, project.candidate)
    comparison, gate = _gate(records, project, breaches)
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
    )


def _rates(records: list[Record], key: str) -> dict[str, dict[str, Rate]]:
    return {
        group: {m: metrics.accuracy(rs).rate for m, rs in metrics.group_by(group_records, "model").items()}
        for group, group_records in metrics.group_by(records, key).items()
    }


def _gate(
    records: list[Record], project: ProjectConfig, breaches: list[Breach]
) -> tuple[Comparison | None, GateResult | None]:
    """The comparison and gate verdict, when both sides ran."""
    base, cand = project.baseline, project.candidate
    models = {r["model"] for r in records}
    if not base or not cand or base not in models or cand not in models:
        return None, None
    comparison = compare(records, base, cand, alpha=project.gate.alpha)
    critical = [p for p in comparison.of_kind(REGRESSION) if "critical" in p.tags]
    errors = sum(r["outcome"] == "error" for r in records if r["model"] in (base, cand))
    candidate_breaches = [b for b in breaches if b.model == cand]
    gate = decide(comparison.stats, project.gate, critical=critical, breaches=candidate_breaches, errors=errors)
    return comparison, gate


@dataclass(eq=False)  # plugins must be hashable (pluggy keeps them in sets)
class RunAggregator:
    """Collects records from reports; decides the exit status and writes reports at session end."""

    config: pytest.Config
    project: ProjectConfig
    enforced: bool
    reports: tuple[tuple[str, Path], ...] = ()  # (format, path) from --pc-report
    records: dict[str, Record] = field(default_factory=dict)
    ordinary_failed: bool = False
    summary: RunSummary | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if hasattr(self.config, "workerinput"):
            return  # a pytest-xdist worker: the controller aggregates
        record = record_of(report)
        if record is not None:
            self.records[record["item"]] = record
        elif report.failed and "promptcheck_model" not in dict(report.user_properties):
            self.ordinary_failed = True  # a plain test (or its fixture) failed: the gate never hides it

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.ordinary_failed = True

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes its file in its own sessionfinish
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput") or not self.records or self.project.dry_run:
            return
        summary = build_summary(list(self.records.values()), self.project, enforced=self.enforced)
        status = int(session.exitstatus)
        if not session.shouldstop:  # a run cut short (-x, --maxfail) is not a complete comparison
            status = self._exit_status(status, summary)
        self.summary = summary = replace(summary, exit_status=status)
        session.exitstatus = status
        self._write_reports(summary)

    def _exit_status(self, pytest_status: int, summary: RunSummary) -> int:
        if self.enforced and summary.gate is not None:
            return session_exit_status(pytest_status, ordinary_failed=self.ordinary_failed, gate=summary.gate)
        return threshold_exit_status(pytest_status, summary.breaches)

    def _write_reports(self, summary: RunSummary) -> None:
        from .report.formats import junit_properties, write_report

        for fmt, path in self.reports:
            write_report(fmt, path, summary, list(self.records.values()))
        junit_properties(self.config, summary)


AGGREGATOR_KEY = pytest.StashKey[RunAggregator]()


def register(config: pytest.Config, project: ProjectConfig) -> None:
    """Create the aggregator for this session (parsing ``--pc-report``) and register it as a plugin."""
    from .report.formats import parse_reports

    if config.option.pc_gate and not (project.baseline and project.candidate):
        raise pytest.UsageError(
            "--pc-gate needs a baseline and a candidate: set `baseline` and `candidate` in [tool.promptcheck] "
            "or pass --pc-baseline NAME --pc-candidate NAME"
        )
    _check_sides_selected(config, project)
    reports = parse_reports(config.option.pc_reports, Path(config.invocation_params.dir))
    aggregator = RunAggregator(config, project, bool(config.option.pc_gate), tuple(reports))
    config.stash[AGGREGATOR_KEY] = aggregator
    config.pluginmanager.register(aggregator, "promptcheck-aggregator")


def _check_sides_selected(config: pytest.Config, project: ProjectConfig) -> None:
    """With --pc-gate, --pc-models must not leave a side out (the gate would compare nothing)."""
    selected = project.selected_models
    if not config.option.pc_gate or selected is None:
        return
    missing = [m for m in (project.baseline, project.candidate) if m not in selected]
    if missing:
        raise pytest.UsageError(
            f"--pc-gate compares {project.baseline!r} with {project.candidate!r}, but --pc-models leaves out "
            f"{', '.join(map(repr, missing))}; add it to --pc-models or drop --pc-gate"
        )


def summary_of(config: pytest.Config) -> RunSummary | None:
    aggregator = config.stash.get(AGGREGATOR_KEY, None)
    return aggregator.summary if aggregator is not None else None
