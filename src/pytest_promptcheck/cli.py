"""The ``promptcheck`` command (SPEC §11). One subcommand per debugging job; each is a function
``_cmd_<name>(args) -> exit status`` registered in :func:`build_parser`.

A RUN is a run folder, a run id prefix, or ``latest``; ids are looked up in the project's runs
folder (``runs`` in ``[tool.promptcheck]`` of the nearest pyproject.toml, else ``.promptcheck/runs``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import cli_add, cli_feedback, cli_lint, cli_runs
from .config import find_pyproject, tomllib
from .export import FORMATS, SIDES, ExportOptions, export_calls
from .records import RESULTS, read_manifest, read_results, resolve_run

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="promptcheck", description="pytest-promptcheck debugging tools")
    parser.add_argument("--runs", metavar="DIR", help="the run records folder (default: from pyproject.toml)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    cli_lint.register(commands)
    cli_add.register(commands)
    cli_feedback.register(commands)
    cli_runs.register(commands)
    __import__("pytest_promptcheck.cli_report").cli_report.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)


def _cmd_export(args: argparse.Namespace) -> int:
    try:
        folder = resolve_run(_runs_dir(args.runs), args.run)
    except FileNotFoundError as exc:
        print(f"promptcheck export: {exc}", file=sys.stderr)
        return 1
    out = Path(args.output) if args.output else folder / f"export.{args.format}.jsonl"
    try:
        result = export_calls(
            read_results(folder / RESULTS),
            read_manifest(folder),
            out,
            ExportOptions(args.format, args.side, args.split),
        )
    except (ValueError, OSError) as exc:
        print(f"promptcheck export: {exc}", file=sys.stderr)
        return 1
    for line in result.lines(out.as_posix()):
        print(line)
    return 0


def _runs_dir(explicit: str | None, cwd: Path | None = None) -> Path:
    """``--runs``, else ``runs`` of the nearest pyproject.toml with ``[tool.promptcheck]``, else the default."""
    if explicit:
        return Path(explicit)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = find_pyproject(folder, None)
        if pyproject is None:
            continue
        try:
            table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("promptcheck")
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if isinstance(table, dict):
            return folder / str(table.get("runs", ".promptcheck/runs"))
    return here / ".promptcheck/runs"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
