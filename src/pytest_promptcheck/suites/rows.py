"""The rows of a ``cases_from`` file (JSONL or CSV), parsed strictly: each problem at its line.

A row becomes a :class:`LineDict` shaped like a YAML case (every value on the row's line), so it is
validated and reported like one. Strict, because a silent misparse loses cases: a CSV quote left
open would swallow the rest of the file, a repeated JSON key would drop a value.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .yamlload import LineDict, LineList

Rows = list[tuple[int, LineDict]]  # (line the row starts on, the row)
Problems = list[tuple[int, str]]  # (line, sentence ending with the fix)


def jsonl_rows(text: str, depth: int) -> tuple[Rows, Problems]:
    """One JSON object per line; blank lines are skipped."""
    reader = _RowReader(depth)
    return reader.read_jsonl(text), reader.problems


def csv_rows(text: str, depth: int) -> tuple[Rows, Problems]:
    """A header row naming the columns (id, ideal, description, tags, vars; any other is a var), then rows."""
    reader = _RowReader(depth)
    return reader.read_csv(text), reader.problems


class _RowReader:
    def __init__(self, depth: int) -> None:
        self.depth = depth  # limits.depth
        self.problems: Problems = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    def read_jsonl(self, text: str) -> list[tuple[int, LineDict]]:
        rows = []
        # split on "\n" only: str.splitlines() also splits on U+2028 and \x0c, which JSON text may hold
        for number, raw in enumerate(text.split("\n"), start=1):
            if not raw.strip():
                continue
            problem = None
            try:
                value = _with_lines(json.loads(raw, object_pairs_hook=_unique_keys), number, self.depth)
            except _RowProblem as exc:
                problem = str(exc)
            except json.JSONDecodeError as exc:
                problem = f"row is not valid JSON: {exc.msg} (column {exc.colno}); write one JSON object per line"
                if raw.startswith("\ufeff"):
                    problem = "a byte order mark (BOM) starts this row; only the file may start with one: remove it"
            except RecursionError:  # nesting past the JSON parser's own limit
                problem = _RowProblem.TOO_DEEP
            except ValueError as exc:  # e.g. a number of 5,000 digits
                problem = f"row is not valid JSON ({_first_line(exc)}); write one JSON object per line"
            if problem is None and not isinstance(value, LineDict):
                problem = f'row {raw.strip()[:40]!r} is not a JSON object; write {{"id": ..., "vars": {{...}}}}'
            if problem is not None:
                self.problem(number, problem)
                continue
            rows.append((number, value))
        return rows

    def read_csv(self, text: str) -> list[tuple[int, LineDict]]:
        """The cases of a CSV file: a header row naming the columns, then one row per case.

        Strict: a quoted cell may span lines, but a file that ends inside a quote is an error at the
        row where it opened (the csv module would silently make the rest of the file one cell), and
        every row has exactly one cell per column.
        """
        records = self._csv_records(text)
        if records is None:
            return []
        header, body = records
        depth = self.depth
        if not body:
            self.problem(1, "the file has a header but no rows; add one row per case")
        rows = []
        for number, cells in body:
            if len(cells) != len(header):
                what = "fewer" if len(cells) < len(header) else "more"
                self.problem(
                    number,
                    f"row has {len(cells)} cells, {what} than the header's {len(header)} columns; give every row "
                    "one cell per column (quote a cell that holds a comma)",
                )
                continue
            try:
                rows.append((number, _with_lines(self._csv_case(number, zip(header, cells)), number, depth)))
            except _RowProblem as exc:
                self.problem(number, str(exc))
        return rows

    def _csv_records(self, text: str) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
        """(header, [(line the row starts on, cells)]), or None after reporting a broken file."""
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        records: list[tuple[int, list[str]]] = []
        start = 1
        try:
            for cells in reader:
                if cells:  # a blank line is no row
                    records.append((start, cells))
                start = reader.line_num + 1
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                message = (
                    "a quoted cell opened on this row never closes (the file ends inside the quote); close the "
                    'quote (a quoted cell may span lines; write a quote inside one as "")'
                )
                self.problem(start, message)
            else:
                self.problem(reader.line_num, f"row is not valid CSV ({exc}); quote a cell that holds a comma or quote")
            return None
        if not records:
            self.problem(1, "the file is empty; write a header row (id,vars or id,<var>,...) and one row per case")
            return None
        (_, header), body = records[0], records[1:]
        names = [name.strip() for name in header]
        seen: dict[str, int] = {}
        for column, name in enumerate(names, start=1):
            if not name:
                self.problem(1, f"column {column} of the header has no name; name it or remove the column")
            elif name in seen:
                self.problem(
                    1, f"column {name!r} is in the header twice (columns {seen[name]} and {column}); rename one"
                )
            else:
                seen[name] = column
        return (names, body) if len(seen) == len(names) else None

    def _csv_case(self, number: int, cells: Any) -> dict[str, Any]:
        value: dict[str, Any] = {"vars": {}}
        for column, cell in cells:
            if column in ("id", "ideal", "description"):
                if cell:
                    value[column] = cell
            elif column == "tags":
                value["tags"] = [t.strip() for t in cell.replace(";", ",").split(",") if t.strip()]
            elif column == "vars":
                try:
                    value["vars"].update(json.loads(cell, object_pairs_hook=_unique_keys) if cell else {})
                except (ValueError, RecursionError, _RowProblem) as exc:
                    self.problem(number, f"`vars` cell is not a JSON object: {_first_line(exc)}")
                except TypeError:
                    self.problem(number, '`vars` cell is not a JSON object; write {"name": "value"}')
            else:
                value["vars"][column] = cell
        return value


class _RowProblem(ValueError):
    """A JSON row that parses but is not a case: a key set twice, nesting past ``limits.depth``."""

    TOO_DEEP = "row nests objects and lists too deep (limits.depth); flatten it"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for rows: ``json.loads`` would keep the last of two equal keys silently."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RowProblem(f"row sets key {key!r} twice in one object; keep one")
        out[key] = value
    return out


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _with_lines(value: Any, line: int, depth: int) -> Any:
    """Wrap a JSON row in LineDict/LineList so it validates and reports like YAML (all on ``line``).

    ``depth`` is what ``limits.depth`` leaves: past it the row is refused (and the recursion stops).
    """
    if isinstance(value, (dict, list)) and depth <= 0:
        raise _RowProblem(_RowProblem.TOO_DEEP)
    if isinstance(value, dict):
        out = LineDict(line)
        for key, item in value.items():
            out[key] = _with_lines(item, line, depth - 1)
            out.key_lines[key] = line
        return out
    if isinstance(value, list):
        seq = LineList(line)
        for item in value:
            seq.append(_with_lines(item, line, depth - 1))
            seq.item_lines.append(line)
        return seq
    return value
