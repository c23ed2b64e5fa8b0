"""The imported suite as YAML text: a header naming the source, the TODOs as comments, the suite.

Comments, so nothing that did not carry over is lost: each TODO names the source's file:line and
keeps the original part as JSON on the next comment line.
"""

from __future__ import annotations

from typing import Any

from ..textutil import dump_yaml
from .result import Todo


def suite_text(suite: dict[str, Any], source: str, todos: list[Todo], notes: list[str]) -> str:
    lines = [f"# Imported from {source} by `promptcheck import`.", "# Edit freely: this file is now the source."]
    for note in notes:
        lines.append(f"# note: {_one_line(note)}")
    for todo in sorted(todos, key=lambda t: (str(t.source), t.line)):
        lines.append(f"# TODO {todo.where()}: {_one_line(todo.text)}")
        if todo.original:
            lines.append(f"#   was: {_one_line(todo.original)}")
    return "\n".join(lines) + "\n" + dump(suite)


def dump(value: Any) -> str:
    return dump_yaml(value)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
