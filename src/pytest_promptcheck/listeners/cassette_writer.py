"""``--pc-record``: gathers the calls recorded on each process from reports and writes the cassettes.

Workers log answered calls (:class:`..stores.cassettes.CallLog`) and send them on the items' setup
reports; this listener, on the controller (or the only process), merges them per suite at session end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..outputs.artifacts import warn_cannot_write
from ..outputs.redact import Redactor
from ..stores.cassettes import REPORT_ATTR, cassette_path, write_cassette
from ..textutil import shown_path


class CassetteWriter:
    """Gathers entries from reports and writes each suite's cassette at session end (controller only)."""

    def __init__(self, config: pytest.Config, redactor: Redactor) -> None:
        self.config = config
        self.redactor = redactor
        self.suites: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {}  # relpath -> (name, entries by key)
        self.written: list[tuple[Path, int]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTR, None)
        if not isinstance(data, dict):
            return
        _name, entries = self.suites.setdefault(data["suite"], (data["name"], {}))
        for entry in data["entries"]:
            entries[entry["key"]] = entry

    def finish(self) -> None:
        for relpath, (name, entries) in sorted(self.suites.items()):
            path = cassette_path(self.config.rootpath / relpath, name)
            try:
                self.written.append((path, write_cassette(path, entries.values(), self.redactor)))
            except OSError as exc:  # the next cassette may still go elsewhere
                warn_cannot_write("cassette", path, exc, Path(self.config.invocation_params.dir))

    def summary_lines(self) -> list[str]:
        cwd = Path(self.config.invocation_params.dir)
        return [f"promptcheck record: {count} entries in {shown_path(path, cwd)}" for path, count in self.written]
