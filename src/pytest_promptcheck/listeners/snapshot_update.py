"""``--pc-update``: record and rewrite ``snapshot`` outputs, and report unused snapshots (like syrupy).

Works on the controller (or the only process) from the per-item records carried by reports
(:func:`..runs.record.record_of`), so it gives the same result with pytest-xdist. A call's snapshot key
is its item id, plus ``#<sample>[k=v,...]`` when the item makes several calls (as
:func:`..calls.keys.snapshot_key` builds it).

- Under ``--pc-update``, a ``snapshot`` check that would fail passes instead (marked in its
  ``details``) and the call's output is stored: "N snapshots written" (new keys) and "N snapshots
  updated" (changed ones).
- Keys in a snapshot file that no call of the run uses are reported as unused; ``--pc-update``
  removes them only when the whole suite ran unfiltered (no ``-k``/``-m``/``--lf``/node ids,
  ``--pc-models``, nor a stop on ``-x``), since a filtered run cannot tell unused from unselected.

Snapshot files are written with ruamel.yaml: one key per call, block scalars for multi-line
outputs, existing comments and order kept, new keys appended in sorted order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..calls.keys import snapshot_key
from ..outputs.artifacts import warn_cannot_write
from ..runs.record import AssertionRecord, ItemRecord, record_of
from ..session import get_session
from ..stores.snapshots import read_snapshots, snapshot_path, suite_name_of, write_snapshots
from ..textutil import shown_path

_SNAPSHOT = re.compile(r"^snapshot\b")  # assertion labels; `not snapshot` is left alone


# -- the plugin ----------------------------------------------------------------------------------


@dataclass
class _SuiteChanges:
    file: Path
    written: dict[str, str] = field(default_factory=dict)
    updated: dict[str, str] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)
    removed: bool = False


class SnapshotUpdater:
    """Collects records from reports; at session end writes snapshots (``--pc-update``) and reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.update = bool(config.option.pc_update)
        self.records: dict[str, ItemRecord] = {}
        self.changes: list[_SuiteChanges] = []
        self.filtered = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = record_of(report)
        if record is not None:
            self.records[record.item] = record

    def finish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.records or self.config.option.pc_dry_run:
            return
        self.filtered = _filtered(self.config, session, exitstatus)
        by_suite: dict[str, list[ItemRecord]] = {}
        for record in self.records.values():
            by_suite.setdefault(record.suite, []).append(record)
        for suite, records in sorted(by_suite.items()):
            changes = self._suite(self.config.rootpath / suite, records)
            if changes is not None:
                self.changes.append(changes)

    def _suite(self, suite: Path, records: list[ItemRecord]) -> _SuiteChanges | None:
        file = snapshot_path(suite, suite_name_of(suite))
        stored = read_snapshots(file)
        used, failed = _snapshot_calls(records)
        if not used and not stored:
            return None
        changes = _SuiteChanges(file)
        for key, output in failed.items():
            (changes.updated if key in stored else changes.written)[key] = output
        ran = {r.item for r in records}
        changes.unused = [str(k) for k in stored if k not in used and (not self.filtered or _base(str(k)) in ran)]
        changes.removed = self.update and not self.filtered and bool(changes.unused)
        if self.update and (failed or changes.removed):
            try:
                write_snapshots(
                    file, failed, changes.unused if changes.removed else [], get_session(self.config).redactor
                )
            except OSError as exc:
                warn_cannot_write("snapshot file", file, exc, Path(self.config.invocation_params.dir))
                changes.written, changes.updated, changes.removed = {}, {}, False  # nothing was written
        return changes

    def summary_lines(self) -> list[str]:
        lines = []
        for c in self.changes:
            where = shown_path(c.file, Path(self.config.invocation_params.dir))
            if self.update and (c.written or c.updated):
                lines.append(f"promptcheck: {_n(c.written)} written, {_n(c.updated)} updated in {where}")
            if c.unused:
                lines.append(
                    f"promptcheck: {_n(c.unused, 'unused')} in {where}: {', '.join(c.unused[:5])}{_more(c.unused)}"
                )
                lines.append("  " + _unused_hint(self.update, c.removed))
        return lines


def _snapshot_calls(records: list[ItemRecord]) -> tuple[set[str], dict[str, str]]:
    """Keys of calls that check a snapshot (or could not be checked), and outputs of those that failed."""
    used: set[str] = set()
    failed: dict[str, str] = {}
    for record in records:
        many = len(record.calls) > 1
        for call in record.calls:
            key = snapshot_key(record.item, call.sample, call.binding, many, call.turn)
            checks = [a for a in call.assertions if _SNAPSHOT.match(a.name)]
            if checks or call.output is None:  # an item that errored keeps its snapshots
                used.add(key)
            if checks and call.output is not None and not all(_holds(a) for a in checks):
                failed[key] = call.output
    return used, failed


def _holds(check: AssertionRecord) -> bool:
    """The stored snapshot matched (under --pc-update a mismatch passes, marked in ``details``)."""
    return check.passed and not (check.details or {}).get("snapshot")


def _base(key: str) -> str:
    return key.split("#", 1)[0] if "#" in key.rsplit("::", 1)[-1] else key


def _filtered(config: pytest.Config, session: pytest.Session, exitstatus: int) -> bool:
    """Whether the run may have left out items of a suite (then unused snapshots are not removed)."""
    option = config.option
    selected = any(getattr(option, name, None) for name in ("keyword", "markexpr", "lf", "deselect", "stepwise"))
    selected = selected or bool(option.pc_models) or any("::" in str(arg) for arg in config.args)
    stopped = bool(session.shouldfail or session.shouldstop) or exitstatus == pytest.ExitCode.INTERRUPTED
    return selected or stopped


def _n(keys: Any, word: str = "") -> str:
    count = len(keys)
    noun = "snapshot" if count == 1 else "snapshots"
    return f"{count} {noun}" + (f" {word}" if word else "")


def _more(keys: list[str]) -> str:
    return f" (+{len(keys) - 5} more)" if len(keys) > 5 else ""


def _unused_hint(update: bool, removed: bool) -> str:
    if removed:
        return "removed (--pc-update)"
    if update:
        return "kept: the run was filtered; run the whole suite with --pc-update to remove them"
    return "run pytest --pc-update (on the whole suite) to remove them"


class UpdateMode:
    """On every process (xdist workers too): under --pc-update, snapshot checks record instead of failing."""

    @staticmethod
    def pytest_itemcollected(item: pytest.Item) -> None:
        store = getattr(item, "snapshots", None)
        if store is not None:
            store.updating = True
