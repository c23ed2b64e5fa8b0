"""``RunRecorder``: writes the run folder from reports (controller only; :mod:`..runs.folder`).

The folder appears with the first prompt result, so a session without suites writes nothing.
Every line and the manifest go through the project's :class:`~..outputs.redact.Redactor` first.
Written by the controller (or the only process) from the reports, so pytest-xdist gives one record.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ..config import ProjectConfig
from ..outputs.artifacts import StoreWarning, cannot_write
from ..outputs.redact import Redactor
from ..runs.folder import RunFolderWriter, new_run_id
from ..runs.liveness import this_process
from ..runs.manifest import RunMode, git_state, model_entries, start_manifest, suite_hashes
from ..runs.record import ItemRecord, record_of
from ..stores.response_cache import cache_path
from ..textutil import shown_path

_COUNTED = ("items", "calls", "answered", "cached", "passed", "failed", "error", "skipped", "judge_calls")


class RunRecorder:
    """Writes the run record from reports; registered on the controller only."""

    def __init__(self, config: pytest.Config, project: ProjectConfig, redactor: Redactor, mode: RunMode) -> None:
        self.config = config
        self.project = project
        self.redactor = redactor
        self.mode = mode
        self.started = datetime.now(timezone.utc)
        self.run_id = new_run_id(self.started)
        self.writer: RunFolderWriter | None = None
        self.manifest: dict[str, Any] = {}
        self.counts: Counter[str] = Counter()
        self.suites: set[str] = set()
        self.models_used: set[str] = set()
        self.drift: dict[str, None] = {}  # what baseline and candidate differ in besides weights, in order
        self.judges_used: set[str] = set()  # grader models of judge/rubric: identified in the manifest too
        self._finished = False
        self.problem: str | None = None  # why the folder could not be written; the run goes on without it

    @property
    def folder(self) -> Path | None:
        return self.writer.folder if self.writer is not None else None

    # -- hooks ---------------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = record_of(report)
        if record is None or self._finished or self.problem is not None:
            return
        try:
            if self.writer is None:
                self._start()
            self._write(record)
        except OSError as exc:  # read-only, full, a file where the folder goes: never the run's end
            self._give_up(exc)

    def pytest_keyboard_interrupt(self) -> None:
        self.counts["interrupted"] = 1

    # -- writing ---------------------------------------------------------------------------------
    def _start(self) -> None:
        self.writer = RunFolderWriter(self._target(), self.redactor)
        command = [self.redactor.text(str(a)) for a in ["pytest", *self.config.invocation_params.args]]
        self.manifest = start_manifest(
            self.config, self.project, run_id=self.run_id, started=self.started.isoformat(timespec="seconds"),
            mode=self.mode, command=command,
        )  # fmt: skip
        self.manifest["process"] = this_process()  # `promptcheck runs` tells a killed run from a running one
        self._save_manifest()

    def _target(self) -> Path:
        return self.project.root / self.project.runs / self.run_id

    def _give_up(self, exc: OSError) -> None:
        # Said at session end (finish), where pytest records warnings on an xdist controller too.
        self.problem = cannot_write("run record", self._target(), exc, Path(self.config.invocation_params.dir))
        if self.writer is not None:
            with contextlib.suppress(OSError):
                self.writer.close()
        self.writer = None  # no folder: the exporter and the summary lines see no record, not half of one

    def _write(self, record: ItemRecord) -> None:
        assert self.writer is not None
        self.suites.add(record.suite)
        self.models_used.add(record.model)
        self.counts["items"] += 1
        self.drift.update(dict.fromkeys(record.drift))
        self.counts[record.outcome] += 1
        for call, line in zip(record.calls, record.call_lines(self.run_id)):
            self.counts["calls"] += 1
            self.counts["answered"] += call.answered
            self.counts["cached"] += call.cached and call.answered
            answered_judges = [j for j in call.judge_calls if j.output is not None]
            self.counts["judge_calls"] += len(answered_judges)
            self.judges_used.update(j.model for j in answered_judges)
            self.writer.append(line)

    def finish(self, exitstatus: int | None = None, gate: dict[str, Any] | None = None) -> None:
        """Complete the manifest and close results.jsonl (idempotent); ``gate``: the gate's entry."""
        if self._finished:
            return
        self._finished = True
        if self.writer is not None:
            try:
                self.writer.close()
                self._finish_manifest(exitstatus, gate)
            except OSError as exc:
                self._give_up(exc)
        if self.problem is not None:
            warnings.warn(StoreWarning(self.problem), stacklevel=2)

    def _finish_manifest(self, exitstatus: int | None, gate: dict[str, Any] | None) -> None:
        finished = datetime.now(timezone.utc)
        self.manifest.update(
            status="interrupted" if self.counts["interrupted"] else "complete",
            finished=finished.isoformat(timespec="seconds"),
            duration_s=round((finished - self.started).total_seconds(), 3),
            exitstatus=exitstatus,
            counts={k: self.counts[k] for k in _COUNTED},
            suites=suite_hashes(self.config.rootpath, self.suites),
            git=self._git(),
            models=model_entries(
                self.project, self.config.rootpath, self.models_used, hashes=True, judges=self.judges_used
            ),
        )
        if self.drift:
            self.manifest["drift"] = list(self.drift)
        if gate is not None:
            self.manifest["gate"] = gate
        self._save_manifest()

    def _git(self) -> dict[str, Any] | None:
        """The repository's state, untracked files under the suites' folders counted (not what the run wrote)."""
        root = self.config.rootpath
        written = [
            self.project.root / self.project.runs,
            *filter(None, [cache_path(self.project.root, self.project.cache)]),
        ]
        return git_state(root, {(root / suite).parent for suite in self.suites}, written)

    def _save_manifest(self) -> None:
        assert self.writer is not None
        self.writer.save_manifest(self.manifest)

    def summary_lines(self) -> list[str]:
        """The run-record lines of the terminal summary, e.g. ``promptcheck cache: 120/120 calls from cache (100%)``."""
        if self.folder is None:
            return []
        answered, cached = self.counts["answered"], self.counts["cached"]
        lines = []
        if self.mode.replay:
            lines.append(f"promptcheck replay: {cached}/{answered} calls answered from cassettes")
        elif self.mode.cache:
            share = f"{cached / answered:.0%}" if answered else "-"
            lines.append(f"promptcheck cache: {cached}/{answered} calls from cache ({share})")
        shown = shown_path(self.folder, Path(self.config.invocation_params.dir))
        judged = f" + {self.counts['judge_calls']} judge calls" if self.counts["judge_calls"] else ""
        lines.append(f"promptcheck run record: {shown} ({self.counts['calls']} calls{judged})")
        return lines
