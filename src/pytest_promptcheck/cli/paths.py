"""Where the CLI finds run records: ``--runs``, else the nearest pyproject's ``runs``, else the default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import find_pyproject, tomllib


def runs_dir(explicit: str | None, cwd: Path | None = None) -> Path:
    """``--runs``, else ``runs`` of the nearest pyproject.toml with ``[tool.promptcheck]``, else the default."""
    if explicit:
        return Path(explicit)
    here = (cwd or Path.cwd()).resolve()
    found = nearest_project(here)
    return found[0] / str(found[2].get("runs", ".promptcheck/runs")) if found else here / ".promptcheck/runs"


def nearest_project(start: Path) -> tuple[Path, Path, dict[str, Any]] | None:
    """(folder, pyproject.toml, its ``[tool.promptcheck]`` table) of the nearest readable project at or above ``start``."""
    for folder in (start, *start.parents):
        pyproject = find_pyproject(folder, None)
        if pyproject is None:
            continue
        try:
            table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("promptcheck")
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if isinstance(table, dict):
            return folder, pyproject, table
    return None
