"""``--pc-report FORMAT:PATH`` files: the run summary written for machines and people.

Formats live in ``WRITERS``: ``json`` is the summary as JSON (:mod:`.json_report`), ``html`` the
self-contained page (:mod:`.html`), ``md`` the pull-request summary (:mod:`.markdown`). Writers get
the summary, the run's item records and the run history's trend points (the HTML page charts
them; :mod:`..runs.trend`). An unknown format is a usage error at startup, so a typo
never costs a full run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..runs.record import ItemRecord
from .artifacts import write_json_artifact
from .redact import Redactor

if TYPE_CHECKING:
    from ..runs.summary import RunSummary
    from ..runs.trend import TrendPoint


def parse_reports(values: list[str], cwd: Path) -> list[tuple[str, Path]]:
    """``["json:out/run.json"]`` -> ``[("json", cwd/out/run.json)]``; bad values are usage errors."""
    parsed = []
    for value in values:
        fmt, sep, path = value.partition(":")
        if not sep or not path:
            raise pytest.UsageError(
                f"--pc-report {value!r}: expected FORMAT:PATH, e.g. --pc-report json:promptcheck.json"
            )
        if fmt not in WRITERS:
            raise pytest.UsageError(f"--pc-report {value!r}: unknown format {fmt!r}; available: {', '.join(WRITERS)}")
        parsed.append((fmt, cwd / path))
    return parsed


def write_report(
    fmt: str, path: Path, summary: RunSummary, records: Sequence[ItemRecord] = (), redactor: Redactor | None = None,
    trend: Sequence[TrendPoint] = (),
) -> None:  # fmt: skip
    """Write one report through :mod:`.artifacts` (scrubbed; ``redactor`` defaults to env secrets and key shapes)."""
    WRITERS[fmt](path, summary, list(records), redactor or Redactor(), trend)


def _write_json(
    path: Path, summary: RunSummary, records: list[ItemRecord], redactor: Redactor, trend: Sequence[TrendPoint]
) -> None:
    from .json_report import summary_json

    write_json_artifact(path, summary_json(summary), redactor)


def _write_html(
    path: Path, summary: RunSummary, records: list[ItemRecord], redactor: Redactor, trend: Sequence[TrendPoint]
) -> None:
    from .html import write_html

    write_html(path, summary, records, redactor, trend=trend)


def _write_md(
    path: Path, summary: RunSummary, records: list[ItemRecord], redactor: Redactor, trend: Sequence[TrendPoint]
) -> None:
    from .markdown import write_markdown

    write_markdown(path, summary, records, redactor)


WRITERS: dict[str, Callable[[Path, RunSummary, list[ItemRecord], Redactor, Sequence[TrendPoint]], None]] = {
    "json": _write_json,
    "html": _write_html,
    "md": _write_md,
}
