"""Where the CLI finds run records: ``--runs``, else the nearest pyproject's ``runs``, else the default."""

from __future__ import annotations

from pathlib import Path

from ..config import find_pyproject, tomllib


def runs_dir(explicit: str | None, cwd: Path | None = None) -> Path:
    """``--runs``, else ``runs`` of the nearest pyproject.toml with ``[tool.promptcheck]``, else the default."""
    if explicit:
        return Path(explicit)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = find_pyproject(folder, None)
        if pyproject is None:
            continue
        try:
            table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("promptcheck")
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if isinstance(table, dict):
            return folder / str(table.get("runs", ".promptcheck/runs"))
    return here / ".promptcheck/runs"
