"""Stored outputs for the ``snapshot`` assertion: ``<suite dir>/__snapshots__/<suite name>.snap.yaml``.

The file maps item ids (with a ``#sample`` / counterfactual suffix when an item makes several
calls) to the output text. :class:`SnapshotStore` reads it for the assertion (with the suite
loader's YAML); ``pytest --pc-update`` rewrites it through :func:`write_snapshots`, which keeps
comments and order (see :mod:`..listeners.snapshot_update`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import SuiteError
from ..outputs.artifacts import write_text_artifact
from ..outputs.redact import Redactor

SNAPSHOT_DIR = "__snapshots__"
_SUFFIXES = (".prompts.yaml", ".prompts.yml", ".yaml", ".yml")


def snapshot_path(suite_path: Path, suite_name: str) -> Path:
    return suite_path.parent / SNAPSHOT_DIR / f"{suite_name}.snap.yaml"


class SnapshotStore:
    """The snapshots of one suite, read once on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._data is None:
            from ..suites.yamlload import LineDict, load_yaml

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


def suite_name_of(path: Path) -> str:
    """The suite name (see :attr:`..suites.model.Suite.name`)."""
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


# -- reading and writing snapshot files for --pc-update (ruamel.yaml keeps comments and order) ----------------------------------------------------------


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


def write_snapshots(
    path: Path, updates: dict[str, str], removals: Iterable[str], redactor: Redactor | None = None
) -> None:
    """Store ``updates`` and drop ``removals`` in a snapshot file, keeping everything else (scrubbed)."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import LiteralScalarString

    stored = read_snapshots(path)
    data = stored if isinstance(stored, CommentedMap) else CommentedMap()  # an empty file keeps its comments
    for key in removals:
        data.pop(key, None)
    for key in [k for k in updates if k in data] + sorted(k for k in updates if k not in data):
        value = updates[key]
        data[key] = LiteralScalarString(value) if "\n" in value else value
    out = io.StringIO()
    if data:
        _yaml().dump(data, out)
    write_text_artifact(path, out.getvalue(), redactor or Redactor(), atomic=True)
