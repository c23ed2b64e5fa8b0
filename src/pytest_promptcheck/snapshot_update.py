"""``--pc-update``: record and rewrite ``snapshot`` outputs, and report unused snapshots (like syrupy).

Works on the controller (or the only process) from the per-item records carried by reports
(:func:`.results.record_of`), so it gives the same result with pytest-xdist. A call's snapshot key
is its item id, plus ``#<sample>[k=v,...]`` when the item makes several calls (as
:func:`.collect._call_key` builds it).

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

import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .results import record_of
from .snapshots import snapshot_path

_SNAPSHOT = re.compile(r"^snapshot\b")  # assertion labels; `not snapshot` is left alone
_SUFFIXES = (".prompts.yaml", ".prompts.yml", ".yaml", ".yml")


def suite_name_of(path: Path) -> str:
    """The suite name (see :attr:`.spec.model.Suite.name`)."""
    for suffix in _SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.name


def item_key_prefix(suite: Path, rootdir: Path) -> str:
    """The node id part before ``::`` for a suite file: its path relative to the rootdir."""
    try:
        return suite.resolve().relative_to(rootdir.resolve()).as_posix()
    except ValueError:
        return suite.as_posix()


def call_key(item_id: str, sample: int, binding: dict[str, Any], many: bool) -> str:
    from .collect import _call_key

    return _call_key(item_id, sample, binding, many)


# -- reading and writing snapshot files ----------------------------------------------------------


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def read_snapshots(path: Path) -> Any:
    if not path.is_file():
        return {}  # most suites have no snapshots: no need to import ruamel.yaml at session end
    from ruamel.yaml.comments import CommentedMap

    data = _yaml().load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, CommentedMap) else CommentedMap()


def write_snapshots(path: Path, updates: dict[str, str], removals: Iterable[str]) -> None:
    """Store ``updates`` and drop ``removals`` in a snapshot file, keeping everything else."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import LiteralScalarString

    stored = read_snapshots(path)
    data = stored if isinstance(stored, CommentedMap) else CommentedMap()  # an empty file keeps its comments
    for key in removals:
        data.pop(key, None)
    for key in [k for k in updates if k in data] + sorted(k for k in updates if k not in data):
        value = updates[key]
        data[key] = LiteralScalarString(value) if "\n" in value else value
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    if data:
        _yaml().dump(data, out)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(out.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


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
        self.records: dict[str, dict[str, Any]] = {}
        self.changes: list[_SuiteChanges] = []
        self.filtered = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = record_of(report)
        if record is not None:
            self.records[record["item"]] = record

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.records or self.config.option.pc_dry_run:
            return
        self.filtered = _filtered(self.config, session, exitstatus)
        by_suite: dict[str, list[dict[str, Any]]] = {}
        for record in self.records.values():
            by_suite.setdefault(record["suite"], []).append(record)
        for suite, records in sorted(by_suite.items()):
            changes = self._suite(self.config.rootpath / suite, records)
            if changes is not None:
                self.changes.append(changes)

    def _suite(self, suite: Path, records: list[dict[str, Any]]) -> _SuiteChanges | None:
        file = snapshot_path(suite, suite_name_of(suite))
        stored = read_snapshots(file)
        used, failed = _snapshot_calls(records)
        if not used and not stored:
            return None
        changes = _SuiteChanges(file)
        for key, output in failed.items():
            (changes.updated if key in stored else changes.written)[key] = output
        ran = {r["item"] for r in records}
        changes.unused = [str(k) for k in stored if k not in used and (not self.filtered or _base(str(k)) in ran)]
        changes.removed = self.update and not self.filtered and bool(changes.unused)
        if self.update and (failed or changes.removed):
            write_snapshots(file, failed, changes.unused if changes.removed else [])
        return changes

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for line in self.summary_lines():
            terminalreporter.write_line(line)

    def summary_lines(self) -> list[str]:
        lines = []
        for c in self.changes:
            where = _shown(c.file, self.config)
            if self.update and (c.written or c.updated):
                lines.append(f"promptcheck: {_n(c.written)} written, {_n(c.updated)} updated in {where}")
            if c.unused:
                lines.append(
                    f"promptcheck: {_n(c.unused, 'unused')} in {where}: {', '.join(c.unused[:5])}{_more(c.unused)}"
                )
                lines.append("  " + _unused_hint(self.update, c.removed))
        return lines


def _snapshot_calls(records: list[dict[str, Any]]) -> tuple[set[str], dict[str, str]]:
    """Keys of calls that check a snapshot (or could not be checked), and outputs of those that failed."""
    used: set[str] = set()
    failed: dict[str, str] = {}
    for record in records:
        calls = record.get("calls") or []
        many = len(calls) > 1
        for call in calls:
            key = call_key(record["item"], call.get("sample", 0), call.get("binding") or {}, many)
            checks = [a for a in call.get("assertions") or [] if _SNAPSHOT.match(str(a.get("name", "")))]
            if checks or call.get("output") is None:  # an item that errored keeps its snapshots
                used.add(key)
            if checks and call.get("output") is not None and not all(_holds(a) for a in checks):
                failed[key] = call["output"]
    return used, failed


def _holds(check: dict[str, Any]) -> bool:
    """The stored snapshot matched (under --pc-update a mismatch passes, marked in ``details``)."""
    return bool(check.get("passed")) and not (check.get("details") or {}).get("snapshot")


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


def _shown(path: Path, config: pytest.Config) -> str:
    try:
        return path.relative_to(config.invocation_params.dir).as_posix()
    except ValueError:
        return str(path)


class _UpdateMode:
    """On every process (xdist workers too): under --pc-update, snapshot checks record instead of failing."""

    @staticmethod
    def pytest_itemcollected(item: pytest.Item) -> None:
        store = getattr(item, "snapshots", None)
        if store is not None:
            store.updating = True


def register(config: pytest.Config, *, worker: bool) -> None:
    if config.option.pc_update:
        config.pluginmanager.register(_UpdateMode(), "promptcheck-snapshot-update-mode")
    if not worker:
        config.pluginmanager.register(SnapshotUpdater(config), "promptcheck-snapshots")
