"""``promptcheck report RUN --html OUT`` / ``--md OUT``: the HTML page or the Markdown summary of a run record.

The item records are rebuilt from the run's ``results.jsonl`` and summarised as at the end of the
run (:func:`..runs.summary.build_summary`), with the baseline and candidate of its manifest and the gate
settings of the project's pyproject.toml (defaults when it cannot be read). A report of many cases
shows a progress counter on a terminal and stays quiet otherwise. The HTML page's trend is the
history of the run's suites in its runs folder, up to the run (:mod:`..runs.trend`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from ..config import CliOptions, ProjectConfig, load_project_config
from ..errors import ConfigError
from ..outputs.redact import Redactor
from ..outputs.rows import Progress
from ..runs.analysis import RunAnalysis, build_analysis
from ..runs.compare import Pair
from ..runs.data_plan import PlanExport
from ..runs.export_selection import Source
from ..runs.feedback_summary import read_feedback
from ..runs.folder import RESULTS, read_manifest, read_run_records, resolve_run
from ..runs.record import ItemRecord
from ..runs.summary import RunSummary, build_summary
from ..runs.trend import TrendFilter, history
from .paths import runs_dir

PROGRESS_FROM = 1000  # rows: smaller reports finish before a counter would help


def register(commands: Any) -> None:
    """Add the ``report`` subcommand to ``commands`` (the subparsers of ``cli.build_parser``)."""
    report = commands.add_parser("report", help="write a run's HTML report or Markdown summary")
    report.add_argument("run", metavar="RUN", help="a run folder, a run id prefix, or 'latest'")
    report.add_argument("--html", metavar="OUT", help="write the self-contained HTML report to OUT")
    report.add_argument("--md", metavar="OUT", help="write the Markdown summary (for a pull request) to OUT")
    report.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    from ..outputs.html import write_html
    from ..outputs.markdown import write_markdown

    if not args.html and not args.md:
        print("promptcheck report: give --html OUT and/or --md OUT", file=sys.stderr)
        return 2
    try:
        folder = resolve_run(runs_dir(args.runs), args.run)
        summary, records = load_run(folder)
        redactor = run_redactor(folder)
        title = f"promptcheck · {folder.name}"
        if args.html:
            trend = history(
                folder.parent, TrendFilter(suites=tuple(sorted({r.suite for r in records}))), upto=folder.name
            )
            write_html(
                Path(args.html), summary, records, redactor, title=title, progress=progress_printer(sys.stderr),
                trend=trend,
            )  # fmt: skip
            print(f"HTML report: {args.html} ({len(records)} items)")
        if args.md:
            write_markdown(Path(args.md), summary, records, redactor, title="promptcheck")
            print(f"Markdown summary: {args.md}")
    except (FileNotFoundError, ValueError, OSError, ConfigError) as exc:
        print(f"promptcheck report: {exc}", file=sys.stderr)
        return 1
    return 0


def run_redactor(folder: Path) -> Redactor:
    """The redactor of the project a run folder belongs to (its ``redact`` list and models' key variables)."""
    from ..outputs.redact import redactor_for

    try:
        manifest = read_manifest(folder)
    except (OSError, ValueError):
        manifest = {}
    return redactor_for(_project(folder, manifest))


def load_run(folder: Path) -> tuple[RunSummary, list[ItemRecord]]:
    """The summary and item records of a run folder; a run without results is a ValueError."""
    if not (folder / RESULTS).is_file():
        raise ValueError(f"{folder}: no {RESULTS} (the run made no model calls)")
    manifest = read_manifest(folder)
    records = read_run_records(folder)
    if not records:
        raise ValueError(f"{folder / RESULTS}: no results to report")
    enforced = "--pc-gate" in (manifest.get("command") or [])
    project = _project(folder, manifest)
    summary = build_summary(records, project, enforced=enforced)
    pairs = summary.comparison.pairs if summary.comparison else None
    return replace(summary, analysis=run_analysis(records, project, pairs=pairs)), records


def run_analysis(
    records: list[ItemRecord], project: ProjectConfig, export: PlanExport | None = None, *,
    pairs: Iterable[Pair] | None = None, build: Callable[[Source], object | None] | None = None,
) -> RunAnalysis:  # fmt: skip
    """The run's weaknesses and data plan, with the feedback summaries of its project."""
    return build_analysis(records, project, export, read_feedback(project.root), pairs, build)


def run_project(folder: Path) -> ProjectConfig:
    """The project a run folder belongs to, with the run's baseline and candidate."""
    try:
        manifest = read_manifest(folder)
    except (OSError, ValueError):
        manifest = {}
    return _project(folder, manifest)


def _project(folder: Path, manifest: dict[str, Any]) -> ProjectConfig:
    """Gate settings from the project's config; baseline and candidate as the run had them."""
    root = Path(str(manifest.get("rootdir") or folder))
    try:
        project = load_project_config(root, None, {}, CliOptions(), cwd=root)
    except (ConfigError, OSError):
        project = ProjectConfig(root=root)
    return replace(project, baseline=manifest.get("baseline"), candidate=manifest.get("candidate"))


def progress_printer(stream: TextIO) -> Progress | None:
    """A ``(done, total)`` callback drawing ``cases 1200/5000`` on a terminal; None when not a terminal."""
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < PROGRESS_FROM:
            return
        if done == total or done % 250 == 0:
            stream.write(f"\rpromptcheck report: cases {done}/{total}")
            if done == total:
                stream.write("\n")
            stream.flush()

    return show
