"""``promptcheck lint [PATHS]``: validate suites without calling a model (SPEC §11).

Runs a pytest collection in-process (``--collect-only --pc-dry-run``), so conftest files and
plugins are loaded exactly as in a test run and custom assertions and providers are known, and
prints each collection problem as ``file:line: message``. Exit 1 on problems, 0 when clean.
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
        self.suites = 0

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
    argv = ["--collect-only", "-q", "--pc-dry-run", "-p", "no:cacheprovider", *paths]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = pytest.main(argv, plugins=[problems])
    for line in problems.lines:
        print(line)
    if status in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) and not problems.lines:
        print(f"{problems.suites} suite(s) OK" if problems.suites else "no suites found", file=sys.stderr)
        return 0
    if not problems.lines:  # a usage error (unknown provider, bad config): pytest said why
        said = [ln for ln in (err.getvalue() + out.getvalue()).splitlines() if "ERROR" in ln or "rror:" in ln]
        print("\n".join(said) or f"promptcheck lint: pytest exited with status {int(status)}", file=sys.stderr)
    else:
        print(f"{len(problems.lines)} problem(s)", file=sys.stderr)
    return 1
