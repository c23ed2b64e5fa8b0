"""``promptcheck analyze RUN``: a run's failures grouped into weaknesses (by side, tag, assertion, variant).

Each weakness with its counts, the JSON path and expected value of a failing assertion and what came
instead, where to look, and example cases with every analysed model's output; then the candidate's
regressions. ``--json``: the same as the report's ``analysis.failures`` (:mod:`..outputs.analysis_report`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ConfigError
from ..runs.analysis import RunAnalysis
from ..runs.data_plan import TARGETS, PlanExport
from ..runs.folder import read_run_records, resolve_run
from .paths import runs_dir
from .report import run_analysis, run_project


def register(commands: Any) -> None:
    parser = commands.add_parser("analyze", help="group a run's failures into weaknesses")
    arguments(parser)
    parser.set_defaults(handler=_cmd_analyze)


def arguments(parser: argparse.ArgumentParser) -> None:
    """RUN and the options ``analyze`` and ``plan`` share."""
    parser.add_argument("run", metavar="RUN", help="a run folder, a run id prefix, or 'latest'")
    parser.add_argument("--json", action="store_true", help="print JSON (for machines) instead of tables")
    parser.add_argument(
        "--side",
        choices=("candidate", "baseline", "all"),
        help="the export side the plan follows (as --pc-export-side)",
    )
    parser.add_argument(
        "--split", type=float, metavar="FRACTION", help="the export's train share (as --pc-export-split)"
    )
    parser.add_argument("--target", choices=TARGETS, default="ideal", help="the export target (default ideal)")


def load(args: argparse.Namespace, command: str) -> RunAnalysis | None:
    """The analysis of RUN, or None after printing why it cannot be had."""
    if args.split is not None and not 0 < args.split <= 1:
        print(f"promptcheck {command}: --split is the train share, between 0 and 1 (got {args.split})", file=sys.stderr)
        return None
    try:
        folder = resolve_run(runs_dir(args.runs), args.run)
        records = read_run_records(folder)
        if not records:
            raise ValueError(f"{folder}: no results to analyse (the run made no model calls)")
        project = run_project(folder)
        return run_analysis(records, project, PlanExport(args.side, args.split, args.target))
    except (FileNotFoundError, ValueError, OSError, ConfigError) as exc:
        print(f"promptcheck {command}: {exc}", file=sys.stderr)
        return None


def _cmd_analyze(args: argparse.Namespace) -> int:
    from ..outputs.analysis_report import failures_json
    from ..outputs.analysis_text import analyze_lines

    analysis = load(args, "analyze")
    if analysis is None:
        return 1
    if args.json:
        print(json.dumps(failures_json(analysis), indent=2, ensure_ascii=False))
    else:
        print("\n".join(analyze_lines(analysis)))
    return 0
