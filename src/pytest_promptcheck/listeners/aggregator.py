"""``RunAggregator``: builds the run summary on the controller from reports and settles the exit status.

Registered as a plugin in ``pytest_configure`` (like xdist's ``DSession``). It keeps the record of
every prompt item's deciding report and notes whether anything else failed; at session end (called
by :class:`.run_end.RunEnd`, before junitxml writes its file) it builds one ``RunSummary``, sets
the exit status, writes the ``--pc-report`` files and the junitxml properties. pytest-xdist workers
do nothing here: their reports reach the controller, which is why ``-n 2`` gives the same summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..config import ProjectConfig
from ..runs.attempts import earlier_attempts, gate_identity
from ..runs.gate import session_exit_status, threshold_exit_status
from ..runs.record import ItemRecord, record_of
from ..runs.summary import RunSummary, build_summary

if TYPE_CHECKING:
    from ..runs.analysis import RunAnalysis
    from ..runs.trend import TrendPoint


@dataclass(eq=False)  # plugins must be hashable (pluggy keeps them in sets)
class RunAggregator:
    """Collects records from reports; decides the exit status and writes reports at session end."""

    config: pytest.Config
    project: ProjectConfig
    enforced: bool
    reports: tuple[tuple[str, Path], ...] = ()  # (format, path) from --pc-report
    records: dict[str, ItemRecord] = field(default_factory=dict)
    ordinary_failed: bool = False
    summary: RunSummary | None = None
    identity: dict[str, Any] | None = None  # what this gated run is an attempt at (runs/attempts.py)
    run: tuple[str, str] | None = None  # (run id, start time) of the run record being written: the trend's last point

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = record_of(report)
        if record is not None:
            self.records[record.item] = record
        elif report.failed and "promptcheck_model" not in dict(report.user_properties):
            self.ordinary_failed = True  # a plain test (or its fixture) failed: the gate never hides it

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.ordinary_failed = True

    def finish(self, session: pytest.Session) -> None:
        """Build the summary, settle the exit status, write the reports (the controller's session end)."""
        if not self.records or self.project.dry_run:
            return
        from ..outputs.artifacts import scrub_records
        from ..session import get_session

        # The summary quotes outputs (terminal, reports, junit): it is built from scrubbed records, so no
        # later quoting or clipping can reveal a secret; verdicts were settled by the items already.
        records = scrub_records(self.records.values(), get_session(self.config).redactor)
        earlier = self._earlier_attempts(records) if self.enforced else None
        summary = build_summary(records, self.project, enforced=self.enforced, earlier_attempts=earlier)
        summary = replace(summary, analysis=self._analysis(records, summary))
        status = int(session.exitstatus)
        if not session.shouldstop:  # a run cut short (-x, --maxfail) is not a complete comparison
            status = self._exit_status(status, summary)
        self.summary = summary = replace(summary, exit_status=status)
        session.exitstatus = status
        self._write_reports(summary, records)

    def _analysis(self, records: list[ItemRecord], summary: RunSummary) -> RunAnalysis:
        """Weaknesses and the data plan for the export options of this run (the plan's default ones without)."""
        from ..export_options import export_choices
        from ..outputs.export import plan_rows
        from ..runs.analysis import build_analysis
        from ..runs.data_plan import PlanExport
        from ..runs.feedback_summary import read_feedback

        option = self.config.option
        chosen = export_choices(option, self.project.export)  # each flag, else [tool.promptcheck.export]
        export = PlanExport(option.pc_export_side, option.pc_export_split, chosen.target, chosen.variants,
                            chosen.rehearsal, chosen.balance)  # seed: the run's, as the export's  # fmt: skip
        pairs = summary.comparison.pairs if summary.comparison else None
        rows = plan_rows(option.pc_export_format, self.config.rootpath)  # the format's rules count in the plan
        return build_analysis(records, self.project, export, read_feedback(self.project.root), pairs, rows)

    def _earlier_attempts(self, records: list[ItemRecord]) -> int | None:
        sides = (self.project.baseline, self.project.candidate)
        suites = {r.suite for r in records if r.model in sides}
        self.identity = gate_identity(self.project, self.config.rootpath, suites)
        if self.identity is None:
            return None
        return earlier_attempts(self.project.root / self.project.runs, self.identity)

    def gate_entry(self) -> dict[str, Any] | None:
        """The manifest's ``gate`` entry: what a later run counts as an earlier attempt."""
        gate = self.summary.gate if self.summary is not None else None
        if gate is None:
            return None
        attempt = gate.attempts.number if gate.attempts is not None else None
        return {"enforced": self.enforced, "verdict": gate.verdict.value, "exit_status": gate.exit_status,
                "attempt": attempt, "identity": self.identity}  # fmt: skip

    def _exit_status(self, pytest_status: int, summary: RunSummary) -> int:
        if self.enforced and summary.gate is not None:
            return session_exit_status(pytest_status, ordinary_failed=self.ordinary_failed, gate=summary.gate)
        return threshold_exit_status(pytest_status, summary.breaches)

    def _trend(self, records: list[ItemRecord]) -> list[TrendPoint]:
        """The HTML report's trend: the run history on this run's suites, this run last (from memory)."""
        from ..runs.manifest import model_entries
        from ..runs.trend import run_trend

        if self.run is None:  # no run record (a dry run): no history to join
            return []
        run_id, started = self.run
        used = {r.model for r in records}
        try:  # an unreadable runs folder or checkpoint costs the report its trend section, never the report
            models = model_entries(self.project, self.config.rootpath, used, hashes=True)
            manifest = {"started": started, "baseline": self.project.baseline, "candidate": self.project.candidate,
                        "gate": self.gate_entry(), "models": models}  # fmt: skip
            return run_trend(self.project.root / self.project.runs, run_id, manifest, records)
        except OSError:
            return []

    def _write_reports(self, summary: RunSummary, records: list[ItemRecord]) -> None:
        from ..outputs.artifacts import warn_cannot_write
        from ..outputs.junit import junit_properties
        from ..outputs.reports import write_report
        from ..session import get_session

        redactor = get_session(self.config).redactor
        trend = self._trend(records) if any(fmt == "html" for fmt, _ in self.reports) else []
        for fmt, path in self.reports:
            try:
                write_report(fmt, path, summary, records, redactor, trend)
            except OSError as exc:  # one report that cannot be written costs that report only
                warn_cannot_write(f"{fmt} report", path, exc, Path(self.config.invocation_params.dir))
        junit_properties(self.config, summary, redactor)
