"""Stored outputs for the ``snapshot`` assertion: ``<suite dir>/__snapshots__/<suite name>.snap.yaml``.

The file maps item ids (with a ``#sample`` / counterfactual suffix when an item makes several
calls) to the output text. This module reads it; rewriting comes with ``--pc-update``.
"""

from __future__ import annotations

from pathlib import Path

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
            from .spec.yamlload import load_yaml

            if self.path.is_file():
                doc = load_yaml(self.path.read_text(encoding="utf-8"), self.path)
                self._data = {str(k): str(v) for k, v in (doc or {}).items()}
            else:
                self._data = {}
        return self._data

    def get(self, key: str) -> str | None:
        return self._load().get(key)

    def describe(self) -> str:
        return str(self.path)
