"""Appending cases to a suite file without touching the rest of it (``promptcheck add``, ``import-feedback``).

The file is parsed with ruamel.yaml's round-trip loader (YAML 1.2, like collection) only to find
where the ``cases:`` list ends and how it is indented; the new cases are dumped by ruamel.yaml
and inserted there as text, so every other byte of the file (comments, key order, quoting, flow
mappings) stays as it was. The result is validated with the suite loader before it replaces the
file: a case that would break the suite is never written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from ..errors import SuiteError
from ..outputs.artifacts import move_file, write_owned_text
from ..textutil import dump_yaml

FUZZY_MIN = 0.9  # the `fuzzy` threshold of cases the CLI writes from an output or a correction


class EditError(Exception):
    """The suite cannot be edited (unreadable, not a mapping, flow-style ``cases``, invalid result)."""


def load_round_trip(path: Path) -> tuple[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EditError(f"cannot read {path}: {exc.strerror}") from None
    try:
        doc = YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise EditError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, CommentedMap):
        raise EditError(f"{path}: a suite file is a mapping with `prompts` and `cases`")
    return text, doc


def existing_ids(doc: CommentedMap) -> set[str]:
    cases = doc.get("cases") or []
    return {str(c["id"]) for c in cases if isinstance(c, dict) and "id" in c}


def dump_block(value: Any, indent: int = 0) -> str:
    lines = dump_yaml(value).splitlines(keepends=True)
    if isinstance(value, list):  # a top-level list comes out with the offset: the caller places the dash
        lines = [line[2:] if line.startswith("  ") else line for line in lines]
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in lines)


def appended_text(text: str, doc: CommentedMap, cases: list[dict[str, Any]]) -> str:
    """``text`` with ``cases`` added at the end of its ``cases:`` list (or a new ``cases:`` key)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if "cases" not in doc or doc["cases"] is None:
        if "cases" in doc:
            raise EditError("`cases:` is empty; write `cases:` with at least one case or remove the key")
        return "".join(lines) + "cases:\n" + dump_block(cases)
    seq = doc["cases"]
    if not isinstance(seq, CommentedSeq) or seq.fa.flow_style() or not seq:
        raise EditError("`cases` must be a block list (`- id: ...` lines) to append to")
    dash_col = _dash_column(lines, seq)
    end = _block_end(lines, doc, "cases")
    return "".join(lines[:end]) + dump_block(cases, dash_col) + "".join(lines[end:])


def _dash_column(lines: list[str], seq: CommentedSeq) -> int:
    line, col = seq.lc.item(0)
    text = lines[line]
    dash = text.rfind("-", 0, col + 1)
    return dash if dash >= 0 else max(col - 2, 0)


def _block_end(lines: list[str], doc: CommentedMap, key: str) -> int:
    """Index of the line after the last content line of top-level ``key``'s value."""
    keys = list(doc)
    position = keys.index(key)
    stop = doc.lc.key(keys[position + 1])[0] if position + 1 < len(keys) else len(lines)
    end = stop
    while end > 0 and (not lines[end - 1].strip() or (lines[end - 1].startswith("#") and end - 1 >= 0)):
        end -= 1  # blank lines and column-0 comments before the next key belong to it
    return end


def write_validated(path: Path, new_text: str) -> None:
    """Write ``new_text`` over ``path`` if it loads as a valid suite; else raise EditError with the problems."""
    from ..suites.load import load_suite

    tmp = path.with_name(f".{path.name}.promptcheck-tmp")
    write_owned_text(tmp, new_text)  # the user's suite: written as they (and `add`) wrote it, not scrubbed
    try:
        probe = path.with_name(f".promptcheck-check.{path.name}")
        move_file(tmp, probe)  # same folder (relative references) and same suffix
        try:
            load_suite(probe)
        except SuiteError as exc:
            raise EditError("\n".join(str(p).replace(probe.name, path.name) for p in exc.problems)) from None
        move_file(probe, path)
    finally:
        for leftover in (tmp, path.with_name(f".promptcheck-check.{path.name}")):
            leftover.unlink(missing_ok=True)
