"""Line numbers of a promptfoo config's parts, from the line-tracking YAML loader's nodes."""

from __future__ import annotations

from typing import Any

from ..suites.yamlload import LineDict, LineList


def lines_of(seq: Any, line: int) -> list[int]:
    """The line of each item of ``seq`` (``line`` for each, where it was not loaded from YAML)."""
    return list(seq.item_lines) if isinstance(seq, LineList) else [line] * len(seq)


def key_line(mapping: Any, key: str, default: int) -> int:
    """The line of ``key`` in ``mapping`` (``default`` where it was not loaded from YAML)."""
    return mapping.key_lines.get(key, default) if isinstance(mapping, LineDict) else default
