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

import pytest

from ..config import ProjectConfig
from ..runs.gate import session_exit_status, threshold_exit_status
from ..runs.record import ItemRecord, record_of
from ..runs.summary import RunSummary, build_summary


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
        from ..outputs.junit import junit_properties
        from ..outputs.reports import write_report

        for fmt, path in self.reports:
            write_report(fmt, path, summary, list(self.records.values()))
        junit_properties(self.config, summary)
