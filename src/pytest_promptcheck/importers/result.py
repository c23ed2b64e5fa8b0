"""What an importer returns: the suite document, the model tables, the TODOs and the counts."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NOT_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Todo:
    """Something of the source that did not carry over (or only approximately), at its file:line."""

    source: Path
    line: int
    text: str
    original: str = ""  # the source's own text of the part, kept in the output's comment

    def where(self) -> str:
        return f"{self.source.name}:{self.line}" if self.line else self.source.name


@dataclass(frozen=True)
class ModelTable:
    """One ``[tool.promptcheck.model.NAME]`` table to add to pyproject.toml."""

    name: str
    fields: dict[str, Any]


@dataclass
class Imported:
    """An importer's whole result; the CLI writes ``suite``, ``models`` and ``files`` and prints the rest."""

    suite: dict[str, Any] = field(default_factory=dict)
    models: list[ModelTable] = field(default_factory=list)
    todos: list[Todo] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # mapped / approximated / unsupported
    files: dict[str, str] = field(default_factory=dict)  # extra files (name -> text) beside the suite
    notes: list[str] = field(default_factory=list)  # what was approximated, once per kind

    def todo(self, source: Path, line: int, text: str, original: str = "") -> None:
        self.todos.append(Todo(source, line, text, original))

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)


def slug(text: str, fallback: str) -> str:
    """A name our ids accept: letters, digits, ``_.-``; starts with a letter or digit; at most 60 chars."""
    value = _NOT_NAME.sub("-", text.strip().lower()).strip("-_.")[:60].strip("-_.")
    return value or fallback


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``, ... when taken; adds the result to ``taken``."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate
