"""The ``promptcheck`` command (SPEC §11). One subcommand per debugging job, one module each.

Each module has ``register(commands)`` (adds its subparser, with a ``handler(args) -> exit status``).
A RUN is a run folder, a run id prefix, or ``latest``; ids are looked up in the project's runs
folder (``runs`` in ``[tool.promptcheck]`` of the nearest pyproject.toml, else ``.promptcheck/runs``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import add, analyze, diff, export, feedback, import_cmd, lineage, lint, plan, report, runs

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="promptcheck", description="pytest-promptcheck debugging tools")
    parser.add_argument("--runs", metavar="DIR", help="the run records folder (default: from pyproject.toml)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (
        export,
        lint,
        add,
        import_cmd,
        feedback,
        runs,
        diff,
        report,
        analyze,
        plan,
        lineage,
    ):  # the order of `promptcheck --help`
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
