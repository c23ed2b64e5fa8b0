"""``FailureExporter``: ``--pc-export`` writes the run's failing calls as fine-tuning data (controller only).

It reads the finished run folder back (:func:`..runs.folder.read_run_records`), so the export holds
exactly what the redacted record holds; :class:`.run_end.RunEnd` calls it after the recorder.
"""

from __future__ import annotations

from pathlib import Path

from ..outputs.artifacts import warn_cannot_write
from ..outputs.export import ExportOptions, ExportResult, export_calls
from ..outputs.redact import Redactor
from ..runs.folder import read_manifest, read_run_records
from ..textutil import shown_path


class FailureExporter:
    """Writes the export from a finished run folder and says what it wrote."""

    def __init__(self, out: Path, options: ExportOptions, cwd: Path, redactor: Redactor) -> None:
        self.out = out
        self.redactor = redactor
        self.options = options
        self.cwd = cwd
        self.result: ExportResult | None = None

    def export(self, folder: Path | None, *, unrecorded: bool = False) -> None:
        """Export from ``folder``; ``unrecorded``: the run record could not be written, so there is nothing to read."""
        if unrecorded:
            warn_cannot_write("export", self.out, RuntimeError("its run record could not be written"), self.cwd)
            return
        if folder is None:
            return  # no prompt item ran: nothing to export, nothing written
        try:
            self.result = export_calls(
                read_run_records(folder), read_manifest(folder), self.out, self.options, self.redactor
            )
        except OSError as exc:
            warn_cannot_write("export", self.out, exc, self.cwd)

    def summary_lines(self) -> list[str]:
        return self.result.lines(shown_path(self.out, self.cwd)) if self.result is not None else []
