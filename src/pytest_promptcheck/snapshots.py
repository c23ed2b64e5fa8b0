"""Stored outputs for the ``snapshot`` assertion: ``<suite dir>/__snapshots__/<suite name>.snap.yaml``.

The file maps item ids (with a ``#sample`` / counterfactual suffix when an item makes several
calls) to the output text. This module reads it; ``pytest --pc-update`` records and rewrites it
(see :mod:`.snapshot_update`).
"""

from __future__ import annotations

from pathlib import Path

from .errors import SuiteError

SNAPSHOT_DIR = "__snapshots__"


def snapshot_path(suite_path: Path, suite_name: str) -> Path:
    return suite_path.parent / SNAPSHOT_DIR / f"{suite_name}.snap.yaml"


class SnapshotStore:
    """The snapshots of one suite, read once on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._data is None:
            from .spec.yamlload import LineDict, load_yaml

            self._data = {}
            if self.path.is_file():
                doc = load_yaml(self.path.read_text(encoding="utf-8"), self.path)
                if doc is not None and not isinstance(doc, LineDict):
                    raise SuiteError.at(self.path, getattr(doc, "line", 1), "a snapshot file maps item ids to outputs")
                for key, value in (doc or {}).items():
                    if not isinstance(value, str):
                        line = doc.key_lines.get(key, 0) if doc is not None else 0
                        raise SuiteError.at(self.path, line, f"snapshot {key!r} must be the output text (a string)")
                    self._data[str(key)] = value
        return self._data

    def get(self, key: str) -> str | None:
        return self._load().get(key)

    def describe(self) -> str:
        return str(self.path)
