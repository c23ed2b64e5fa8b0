"""`promptcheck lint`: collection problems as file:line lines, conftest assertions known, no model calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PromptProject


def lint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_promptcheck.cli", "lint", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_clean_suite_with_a_conftest_assertion(pytester: pytest.Pytester, project: PromptProject) -> None:
    pytester.makeconftest(
        "def pytest_promptcheck_register_assertions(registry):\n"
        "    registry.register('shouty', lambda output, arg, ctx: output.isupper(), arg='optional')\n"
    )
    pytester.makepyfile(app="def echo(messages, params):\n    raise SystemExit('lint must not call models')\n")
    project.suite(body="prompts: {p: '{{ x }}'}\ncases:\n  - id: a\n    vars: {x: HI}\n    assert: [shouty]\n")
    result = lint(pytester.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 suite(s) OK" in result.stderr


def test_problems_are_file_line_messages(pytester: pytest.Pytester, project: PromptProject) -> None:
    project.suite(body="prompts: {p: '{{ x }}'}\ncases:\n  - id: a\n    vars: {x: 1}\n    assert: [no_such_check]\n")
    project.suite("test_other", body="prompts: {p: hi}\ncases:\n  - id: b\n    bogus: 1\n")
    result = lint(pytester.path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("test_suite.prompts.yaml:5:") and "no_such_check" in line for line in lines), lines
    assert any(line.startswith("test_other.prompts.yaml:4:") and "bogus" in line for line in lines), lines


def test_paths_limit_what_is_linted(pytester: pytest.Pytester, project: PromptProject) -> None:
    project.suite(body="prompts: {p: hi}\ncases:\n  - id: a\n")
    project.suite("test_bad", body="prompts: {p: hi}\ncases: 3\n")
    assert lint(pytester.path, "test_suite.prompts.yaml").returncode == 0
    assert lint(pytester.path).returncode == 1


def test_missing_path_and_unknown_provider_fail(pytester: pytest.Pytester, project: PromptProject) -> None:
    result = lint(pytester.path, "nowhere.prompts.yaml")
    assert result.returncode == 1
    assert "nowhere" in result.stderr
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["m"]\n[tool.promptcheck.model.m]\nprovider = "nope"\n')
    project.suite(body="prompts: {p: hi}\ncases:\n  - id: a\n")
    result = lint(pytester.path)
    assert result.returncode == 1
    assert "nope" in result.stderr
