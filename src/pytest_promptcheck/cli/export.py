"""``promptcheck export RUN``: a run's failing calls as fine-tuning data (the formats of :mod:`..outputs.export`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .. import config_values as check
from ..config import find_pyproject, tomllib
from ..errors import ConfigError
from ..outputs.export import FORMATS, SIDES, ExportOptions, export_calls
from ..outputs.export_choices import BALANCES, TARGETS, VARIANTS, ExportChoices, rehearsal_share
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
    export.add_argument("--target", choices=TARGETS, help="each row's target (default: the config's, else ideal)")
    export.add_argument(
        "--variants", choices=VARIANTS, help="failing (default) or all prompt variants of a failing case"
    )
    export.add_argument(
        "--rehearsal", metavar="F", type=check.option_type("--rehearsal", rehearsal_share),
        help="share of the training file from cases passing on the exported side (0 <= F < 1)",
    )  # fmt: skip
    export.add_argument("--balance", choices=BALANCES, help="none or tag: cap rows per weakness at the median")
    export.add_argument("--seed", type=int, help="the seed of the split and the samples (default: the run's)")
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
        manifest = read_manifest(folder)
        given = {"target": args.target, "variants": args.variants, "rehearsal": args.rehearsal, "balance": args.balance}
        choices = configured_choices(manifest, folder).merged(given, where=lambda key: f"--{key}")
        result = export_calls(
            read_run_records(folder),
            manifest,
            out,
            ExportOptions(args.format, args.side, args.split, choices, args.seed),
            run_redactor(folder),
        )
    except (ValueError, OSError, ConfigError) as exc:
        print(f"promptcheck export: {exc}", file=sys.stderr)
        return 1
    for line in result.lines(out.as_posix()):
        print(line)
    return 0


def configured_choices(manifest: dict[str, Any], folder: Path) -> ExportChoices:
    """``[tool.promptcheck.export]`` of the project the run belongs to (none found: the defaults).

    Only that table is read, so a problem elsewhere in the config (a model's unset variable) does
    not stop an export."""
    pyproject = find_pyproject(Path(str(manifest.get("rootdir") or folder)), None)
    if pyproject is None:
        return ExportChoices()
    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("promptcheck", {})
    except (OSError, tomllib.TOMLDecodeError):
        return ExportChoices()
    return ExportChoices.from_table(table.get("export", {}) if isinstance(table, dict) else {}, str(pyproject))
