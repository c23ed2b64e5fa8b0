"""The summary ``import-feedback`` keeps of every row it read (:mod:`..runs.feedback_summary` has the format).

It lands in ``.promptcheck/feedback/`` of the suite's project (the nearest folder above the suite
with a pyproject.toml holding ``[tool.promptcheck]``, else the suite's folder), one file per
feedback file, rewritten by the next import of the same file. The chosen vars are that project's
``[tool.promptcheck.analysis] vars``.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..analysis_config import parse_analysis
from ..errors import ConfigError
from ..outputs.artifacts import write_json_artifact
from ..outputs.redact import Redactor
from ..runs.feedback_summary import FEEDBACK_DIR, SUFFIX, count_rows
from .paths import nearest_project


def write_summary(
    source: Path, target: Path, lines: int, rows: list[dict[str, Any]], skipped: dict[str, int], *, kept: int
) -> Path | None:
    """Write the summary; None (after saying why) when it cannot be written: the import itself stands."""
    root, names = _project(target.resolve().parent)
    tags, values = count_rows(rows, names)
    data = {
        "source": source.name, "into": str(target), "imported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rows_read": lines, "kept": kept, "skipped": dict(sorted(skipped.items())), "written": kept > 0,
        "counted": len(rows), "vars_chosen": list(names), "tags": tags, "vars": values,
    }  # fmt: skip
    path = root / FEEDBACK_DIR / f"{source.stem}{SUFFIX}"
    try:
        return write_json_artifact(path, data, Redactor(), sort_keys=True)
    except OSError as exc:
        print(f"promptcheck import-feedback: cannot keep the feedback summary at {path}: {exc}", file=sys.stderr)
        return None


def _project(start: Path) -> tuple[Path, tuple[str, ...]]:
    """The project folder above ``start`` and its chosen analysis vars (none when its config is unreadable)."""
    found = nearest_project(start)
    if found is None:
        return start, ()
    folder, pyproject, table = found
    try:
        return folder, parse_analysis(table.get("analysis", {}), str(pyproject)).vars
    except ConfigError as exc:
        print(f"promptcheck import-feedback: {exc}; the summary counts no vars", file=sys.stderr)
        return folder, ()
