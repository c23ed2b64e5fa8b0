"""``promptcheck export RUN``: a run's failing calls as fine-tuning data (the formats of :mod:`..outputs.export`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..outputs.export import FORMATS, SIDES, ExportOptions, export_calls
from ..runs.folder import read_manifest, read_run_records, resolve_run
from .paths import runs_dir
from .report import run_redactor


def register(commands: Any) -> None:
    export = commands.add_parser("export", help="write a run's failing calls as fine-tuning data")
    export.add_argument("run", metavar="RUN", help="a run folder, a run id prefix, or 'latest'")
    export.add_argument(
        "--format", choices=FORMATS, default="openai-chat", help="the dataset format (default openai-chat)"
    )
    export.add_argument(
        "--side", choices=SIDES, help="whose failures: candidate (default when the run has one), baseline, all"
    )
    export.add_argument(
        "--split", type=float, metavar="FRACTION", help="train share; the rest goes to <stem>.val.jsonl"
    )
    export.add_argument(
        "-o", "--output", metavar="PATH", help="the training file (default: <run folder>/export.<format>.jsonl)"
    )
    export.set_defaults(handler=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    try:
        folder = resolve_run(runs_dir(args.runs), args.run)
    except FileNotFoundError as exc:
        print(f"promptcheck export: {exc}", file=sys.stderr)
        return 1
    out = Path(args.output) if args.output else folder / f"export.{args.format}.jsonl"
    try:
        result = export_calls(
            read_run_records(folder),
            read_manifest(folder),
            out,
            ExportOptions(args.format, args.side, args.split),
            run_redactor(folder),
        )
    except (ValueError, OSError) as exc:
        print(f"promptcheck export: {exc}", file=sys.stderr)
        return 1
    for line in result.lines(out.as_posix()):
        print(line)
    return 0
