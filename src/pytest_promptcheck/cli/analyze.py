"""``promptcheck analyze RUN``: a run's failures grouped into weaknesses (by side, tag, assertion, variant).

Each weakness with its counts, the JSON path and expected value of a failing assertion and what came
instead, where to look, and example cases with every analysed model's output; then the candidate's
regressions. ``--json``: the same as the report's ``analysis.failures`` (:mod:`..outputs.analysis_report`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .. import config_values as check
from ..errors import ConfigError
from ..outputs.export import FORMATS, plan_rows
from ..outputs.export_choices import BALANCES, TARGETS, VARIANTS, rehearsal_share
from ..runs.analysis import RunAnalysis
from ..runs.data_plan import PlanExport
from ..runs.folder import read_manifest, read_run_records, resolve_run
from .export import configured_choices
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
    parser.add_argument(
        "--format", choices=FORMATS, default="openai-chat", help="the export format (default openai-chat)"
    )
    parser.add_argument("--target", choices=TARGETS, help="the export target (default: the config's, else ideal)")
    parser.add_argument("--variants", choices=VARIANTS, help="failing or all prompt variants (as --pc-export-variants)")
    parser.add_argument(
        "--rehearsal", metavar="F", type=check.option_type("--rehearsal", rehearsal_share),
        help="share of the training file from passing cases (as --pc-export-rehearsal)",
    )  # fmt: skip
    parser.add_argument("--balance", choices=BALANCES, help="none or tag (as --pc-export-balance)")
    parser.add_argument("--seed", type=int, help="the seed of the split and the samples (default: the run's)")


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
        manifest = read_manifest(folder)
        given = {"target": args.target, "variants": args.variants, "rehearsal": args.rehearsal, "balance": args.balance}
        # As `promptcheck export RUN` chooses: each flag, else the project's [tool.promptcheck.export].
        c = configured_choices(manifest, folder).merged(given, where=lambda key: f"--{key}")
        seed = args.seed if args.seed is not None else int(manifest.get("seed") or 0)
        export = PlanExport(args.side, args.split, c.target, c.variants, c.rehearsal, c.balance, seed)
        return run_analysis(
            records, project, export, build=plan_rows(args.format, Path(str(manifest.get("rootdir") or folder)))
        )
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
