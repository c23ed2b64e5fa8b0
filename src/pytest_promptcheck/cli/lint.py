"""``promptcheck lint [PATHS]``: validate suites without calling a model (SPEC §11).

Runs a pytest collection in-process (``--collect-only --pc-dry-run``) and prints each collection
problem as ``file:line: message``. Exit 1 on problems, 0 when clean.

Lint reads untrusted suites (a pull request's) without running anything of the project's: no
``conftest.py`` (``--noconftest``), no test modules or packages (``python_files`` emptied), no
``addopts`` (its ``-p`` could import a module), no ``pythonpath`` and not the current folder on
``sys.path`` (a ``jsonschema.py`` there would shadow the library), no ``python:`` model or
assertion function (``--pc-lint``). What it therefore cannot check (a name
only a conftest registers, a function it would import) it lists as notes, which do not fail it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
from typing import Any

import pytest

_HEAD = "problem(s) in this suite"
_LOCATED = re.compile(r"^\S[^:]*:\d*:? ")


class _Problems:
    """A pytest plugin that keeps the failed collection reports."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.notes: list[str] = []
        self.suites = 0

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from ..items.item import PromptItem
        from ..session import get_session

        here = f"{session.config.invocation_params.dir}{os.sep}"  # shown relative, like the suites' lines
        models = {item.model.name: item.model for item in session.items if isinstance(item, PromptItem)}
        self.notes = [
            *get_session(session.config).lint_notes,
            *(
                f"{model.source.removeprefix(here)}: would import {model.function} (python model {name!r}); "
                "not imported by lint"
                for name, model in sorted(models.items())
                if model.provider == "python"
            ),
        ]

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.nodeid.endswith((".yaml", ".yml")) and report.passed:
            self.suites += 1
        if not report.failed:
            return
        lines = [line for line in str(report.longrepr).strip().splitlines() if line.strip() and _HEAD not in line]
        if lines and all(_LOCATED.match(line) for line in lines):
            self.lines.extend(lines)  # a suite's problems, already `file:line: message`
        else:  # a conftest or plugin that fails to import: its last line says why
            last = lines[-1].lstrip("E ").strip() if lines else "collection failed"
            self.lines.append(f"{report.nodeid or '.'}: {last}")


def register(commands: Any) -> None:
    lint = commands.add_parser("lint", help="validate suites without calling models (exit 1 on problems)")
    lint.add_argument("paths", nargs="*", metavar="PATH", help="suite files or folders (default: pytest's testpaths)")
    lint.set_defaults(handler=_cmd_lint)


def _cmd_lint(args: argparse.Namespace) -> int:
    return run(args.paths)


def run(paths: list[str]) -> int:
    """Lint ``paths`` (also used by ``promptcheck import`` on what it wrote); the exit status."""
    problems = _Problems()
    out, err = io.StringIO(), io.StringIO()
    argv = ["--collect-only", "-q", "--pc-dry-run", "--pc-lint", "--noconftest", "-o", "addopts=", "-o", "pythonpath=",
            "-o", "python_files=", "-p", "no:cacheprovider", *paths]  # fmt: skip
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]  # `python -m` puts the cwd first
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = pytest.main(argv, plugins=[problems])
    finally:
        sys.path[:] = saved
    for line in (*problems.lines, *problems.notes):
        print(line)
    if status in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) and not problems.lines:
        noted = f"; {len(problems.notes)} note(s) on what lint does not run" if problems.notes else ""
        print(f"{problems.suites} suite(s) OK{noted}" if problems.suites else "no suites found", file=sys.stderr)
        return 0
    if not problems.lines:  # a usage error (unknown provider, bad config): pytest said why
        said = [ln for ln in (err.getvalue() + out.getvalue()).splitlines() if "ERROR" in ln or "rror:" in ln]
        print("\n".join(said) or f"promptcheck lint: pytest exited with status {int(status)}", file=sys.stderr)
    else:
        print(f"{len(problems.lines)} problem(s)", file=sys.stderr)
    return 1
