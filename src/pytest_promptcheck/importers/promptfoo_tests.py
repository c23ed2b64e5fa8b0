"""promptfoo test data: array vars expanded as promptfoo does, and CSV test files read."""

from __future__ import annotations

import csv
import io
import itertools
from typing import Any

from .mapping import expected_column


def expand(variables: dict[str, Any]) -> list[dict[str, Any]]:
    """promptfoo runs a test once per combination of its array vars (the cartesian product)."""
    arrays = {k: v for k, v in variables.items() if isinstance(v, list) and v}
    if not arrays:
        return [variables]
    keys = list(arrays)
    return [{**variables, **dict(zip(keys, combo))} for combo in itertools.product(*arrays.values())]


def csv_tests(text: str) -> list[tuple[int, dict[str, Any]]]:
    """promptfoo's CSV tests: var columns, ``__expected[N]``, ``__description``, ``__threshold``, ``__metadata:KEY``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    tests = []
    start = 1
    for cells in reader:
        if header is None:
            header = [c.strip() for c in cells]
        elif cells:
            test: dict[str, Any] = {"vars": {}, "assert": [], "metadata": {}}
            for column, cell in zip(header, cells):
                if column.startswith("__expected"):
                    if cell:
                        test["assert"].append(expected_column(cell))
                elif column == "__description":
                    test["description"] = cell
                elif column == "__threshold" and cell:
                    test["threshold"] = float(cell)
                elif column.startswith("__metadata:"):
                    test["metadata"][column.removeprefix("__metadata:")] = cell
                else:
                    test["vars"][column] = cell
            tests.append((start, test))
        start = reader.line_num + 1
    return tests
