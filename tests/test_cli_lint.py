"""`promptcheck lint`: collection problems as file:line lines, no model calls, no user code run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PromptProject, make_pyproject


def lint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_promptcheck.cli", "lint", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_clean_suite_with_a_conftest_assertion(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A conftest assertion is not loaded (lint runs no project code): a note, not a problem."""
    pytester.makeconftest(
        "open('conftest-ran', 'w').close()\n"
        "def pytest_promptcheck_register_assertions(registry):\n"
        "    registry.register('shouty', lambda output, arg, ctx: output.isupper(), arg='optional')\n"
    )
    pytester.makepyfile(app="open('app-imported', 'w').close()\ndef echo(messages, params):\n    raise SystemExit\n")
    project.suite(body="prompts: {p: '{{ x }}'}\ncases:\n  - id: a\n    vars: {x: HI}\n    assert: [shouty]\n")
    result = lint(pytester.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 suite(s) OK; 2 note(s) on what lint does not run" in result.stderr
    assert result.stdout.splitlines() == [
        "test_suite.prompts.yaml:5: assertion 'shouty' is not built in; lint does not load conftest.py, "
        "so it is not checked",
        "pyproject.toml [tool.promptcheck] model 'echo': would import app:echo (python model 'echo'); "
        "not imported by lint",
    ]
    assert not (pytester.path / "conftest-ran").exists()
    assert not (pytester.path / "app-imported").exists()


def test_no_user_python_is_imported(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`python:` assertions, `addopts = -p module` and a conftest provider: listed or noted, never imported."""
    pytester.makepyfile(checks="open('checks-imported', 'w').close()\ndef ok(output, ctx):\n    return True\n")
    pytester.makepyfile(evil_plugin="open('plugin-imported', 'w').close()\n")
    extra = '[tool.promptcheck.model.custom]\nprovider = "from_conftest"\n'
    pytester.makepyprojecttoml(
        make_pyproject({"echo": "app:echo"}).replace('models = ["echo"]', 'models = ["echo", "custom"]')
        + extra + '\n[tool.pytest.ini_options]\naddopts = "-p evil_plugin"\n'
    )  # fmt: skip
    project.suite(body="prompts: {p: hi}\ncases:\n  - id: a\n    assert: [{python: 'checks:ok'}, {contians: hi}]\n")
    result = lint(pytester.path)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "test_suite.prompts.yaml:4: would import checks:ok (`python` assertion); not imported by lint" in out
    assert "did you mean 'contains'" in out  # a typo of a built-in is still a problem
    assert not (pytester.path / "checks-imported").exists()
    assert not (pytester.path / "plugin-imported").exists()
    project.suite(body="prompts: {p: hi}\ncases:\n  - id: a\n")
    result = lint(pytester.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "provider 'from_conftest' is not built in; lint does not load conftest.py" in result.stdout


def test_template_payload_is_reported_not_run(pytester: pytest.Pytester, project: PromptProject) -> None:
    """The cycler/popen payload is a problem at the prompt's line, and its command never runs (lint or pytest)."""
    payload = "{{ cycler.__init__.__globals__.os.popen('touch pwned').read() }}"
    project.suite(body=f'prompts:\n  p: "{payload}"\ncases:\n  - id: a\n')
    result = lint(pytester.path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "test_suite.prompts.yaml:2: prompt 'p': template tries to reach Python internals (`__init__`); "
        "a template may use vars, filters and `file()` only"
    ]
    assert not (pytester.path / "pwned").exists()
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    run.assert_outcomes(errors=1)
    run.stdout.fnmatch_lines(["*test_suite.prompts.yaml:2: prompt 'p': template tries to reach Python internals*"])
    assert not (pytester.path / "pwned").exists()


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
    # A provider that is no typo of a registered one may come from a conftest (a note); a typo is an error.
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["m"]\n[tool.promptcheck.model.m]\nprovider = "pythn"\n')
    project.suite(body="prompts: {p: hi}\ncases:\n  - id: a\n")
    result = lint(pytester.path)
    assert result.returncode == 1
    assert "pythn" in result.stderr
