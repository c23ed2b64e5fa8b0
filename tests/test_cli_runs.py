"""`promptcheck runs` and `promptcheck diff RUN_A RUN_B` on real run records."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PromptProject
from pytest_promptcheck.cli.main import main

SUITE = """
prompts: {p: "{{ reply }}"}
cases:
  - id: stays
    vars: {reply: same}
    assert: [{contains: same}]
  - id: flips
    vars: {reply: "answer"}
    assert: [{equals: answer}]
"""


def two_runs(pytester: pytest.Pytester, project: PromptProject) -> Path:
    project.suite(body=SUITE)
    pytester.runpytest("-p", "no:randomly", "--pc-no-cache").assert_outcomes(passed=2)
    pytester.makepyfile(
        app="def echo(messages, params):\n    return messages[-1]['content'].replace('answer', 'other')\n"
    )
    pytester.runpytest("-p", "no:randomly", "--pc-no-cache", "-p", "no:cacheprovider").assert_outcomes(
        passed=1, failed=1
    )
    return pytester.path / ".promptcheck" / "runs"


def test_runs_and_diff(pytester: pytest.Pytester, project: PromptProject, capsys: pytest.CaptureFixture[str]) -> None:
    runs = two_runs(pytester, project)
    first, second = sorted(p.name for p in runs.iterdir())
    capsys.readouterr()
    assert main(["--runs", str(runs), "runs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(second) and "echo 1/2 (50%)" in lines[0]
    assert lines[1].startswith(first) and "echo 2/2 (100%)" in lines[1]
    assert main(["--runs", str(runs), "diff", first[:18], "latest"]) == 0
    out = capsys.readouterr().out
    assert "model echo:" in out
    assert "flips: passed -> failed (output changed)" in out
    assert "stays" not in out
    assert "1 change(s)" in out


def test_unknown_run_and_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--runs", str(tmp_path), "diff", "abc", "latest"]) == 1
    assert "matches no run record" in capsys.readouterr().err
    assert main(["--runs", str(tmp_path / "none"), "runs"]) == 0
    assert "no run records" in capsys.readouterr().err
