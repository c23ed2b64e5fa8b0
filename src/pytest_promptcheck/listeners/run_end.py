"""``RunEnd``: the end of a run on the controller, in one defined order.

The listeners that gather reports (aggregator, recorder, cassettes, exporter, snapshots) do their
session-end work here, called in sequence rather than left to hookimpl ordering:

1. the aggregator builds the summary, settles the exit status (the gate) and writes the reports
   and junitxml properties — so this hook runs ``tryfirst``, before junitxml writes its file;
2. snapshots are written or reported (``--pc-update``);
3. cassettes are written (``--pc-record``);
4. the run record is finished, with the exit status the gate settled;
5. the export is written from the finished record (``--pc-export``);
6. the run is logged to MLflow, with the report, export and manifest files (``--pc-mlflow``).

:meth:`RunEnd.after_section` gives their terminal lines in that order, after the promptcheck section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # each is imported where its flag registers it (options.py)
    from .aggregator import RunAggregator
    from .cassette_writer import CassetteWriter
    from .exporter import FailureExporter
    from .mlflow_tracker import MlflowTracker
    from .run_recorder import RunRecorder
    from .snapshot_update import SnapshotUpdater


@dataclass(eq=False)  # plugins must be hashable (pluggy keeps them in sets)
class RunEnd:
    aggregator: RunAggregator
    snapshots: SnapshotUpdater
    recorder: RunRecorder | None = None  # not in a dry run
    cassettes: CassetteWriter | None = None  # --pc-record
    exporter: FailureExporter | None = None  # --pc-export
    tracker: MlflowTracker | None = None  # --pc-mlflow

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes its file: the gate's properties go in it
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.recorder is not None:  # the HTML report's trend ends with this run
            self.aggregator.run = (self.recorder.run_id, self.recorder.started.isoformat(timespec="seconds"))
        self.aggregator.finish(session)
        status = int(getattr(session, "exitstatus", exitstatus))  # as the gate settled it (unset: collect only)
        self.snapshots.finish(session, status)
        if self.cassettes is not None:
            self.cassettes.finish()
        if self.recorder is not None:
            self.recorder.finish(status, self.aggregator.gate_entry())
            if self.exporter is not None:
                self.exporter.export(self.recorder.folder, unrecorded=self.recorder.problem is not None)
            if self.tracker is not None:
                self.tracker.finish(self.aggregator, self.recorder, self.exporter)

    def after_section(self) -> list[list[str]]:
        """The terminal lines that follow the promptcheck section: snapshots, record, cassettes, export, mlflow."""
        parts = [self.snapshots.summary_lines()]
        parts += [self.recorder.summary_lines()] if self.recorder is not None else []
        parts += [self.cassettes.summary_lines()] if self.cassettes is not None else []
        parts += [self.exporter.summary_lines()] if self.exporter is not None else []
        parts += [self.tracker.summary_lines()] if self.tracker is not None else []
        return parts
