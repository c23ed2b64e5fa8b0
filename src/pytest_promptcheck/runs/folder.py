"""Run folders (SPEC §12): where a run's record lives, how it is written and found again.

``<runs>/<UTC time>-<short id>/`` (e.g. ``20261128T082307.123Z-cc1b56``; ``runs`` from the config,
default ``.promptcheck/runs``) holds:

- ``manifest.json`` — what ran, on what (:mod:`.manifest`). Written when the first result arrives
  (``status: running``) and rewritten at the end with counts and ``status: complete``
  (``interrupted`` when pytest was interrupted); each write replaces the file atomically. Its
  ``process`` entry (pid, host, start time) lets ``promptcheck runs`` show a killed run, still
  "running", as ``aborted`` (:mod:`.liveness`).
- ``results.jsonl`` — one line per model call (:mod:`.record` has the shape). Each line goes out in
  a single write as its report arrives, so a killed run keeps every line written before, each whole.

Both are written through :mod:`..outputs.artifacts`, scrubbed by the project's redactor.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from ..outputs.artifacts import AppendFile, write_json_artifact
from ..outputs.redact import Redactor
from .record import ItemRecord, read_records

MANIFEST = "manifest.json"
RESULTS = "results.jsonl"


def new_run_id(started: datetime) -> str:
    """``20261128T082307.123Z-cc1b56``: milliseconds too, so `latest` is right even for runs a second apart."""
    return f"{started:%Y%m%dT%H%M%S}.{started.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


class RunFolderWriter:
    """Appends result lines (one write each) and replaces the manifest atomically, both scrubbed."""

    def __init__(self, folder: Path, redactor: Redactor) -> None:
        self.folder = folder
        self.redactor = redactor
        self._results = AppendFile(folder / RESULTS, redactor)  # creates the folder; raises OSError

    def append(self, line: dict[str, Any]) -> None:
        """One line of results.jsonl, in a single write: a kill never leaves half a line."""
        self._results.append(line)

    def save_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_artifact(self.folder / MANIFEST, manifest, self.redactor, atomic=True, sort_keys=True)

    def close(self) -> None:
        self._results.close()


# -- reading records back (the CLI, the exporter) -------------------------------------------------


def run_folders(runs_dir: Path) -> list[Path]:
    """The run folders under ``runs_dir``, oldest first."""
    return sorted(p for p in runs_dir.glob("*") if (p / MANIFEST).is_file()) if runs_dir.is_dir() else []


def resolve_run(runs_dir: Path, ref: str) -> Path:
    """A run folder from a path, a run id prefix, or ``latest``; raises FileNotFoundError saying what exists."""
    as_path = Path(ref)
    if as_path.is_dir() and (as_path / MANIFEST).is_file():
        return as_path
    runs = run_folders(runs_dir)
    if ref == "latest" and runs:
        return runs[-1]
    matches = [p for p in runs if p.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.name for p in runs[-5:]) or "none"
    why = "is ambiguous" if matches else "matches no run record"
    raise FileNotFoundError(
        f"run {ref!r} {why} in {runs_dir} (latest runs: {known}); give a run folder, an id prefix or 'latest'"
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def read_run_records(folder: Path) -> list[ItemRecord]:
    """The item records of a run folder (none when it made no call)."""
    results = folder / RESULTS
    return read_records(results) if results.is_file() else []
