"""`promptcheck runs`: a run whose process was killed shows "aborted", not "running" forever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PromptProject
from pytest_promptcheck.cli.main import main

SLOW_APP = """
import time


def answer(messages, params):
    text = messages[-1]["content"]
    if text == "slow":
        time.sleep(300)  # killed long before it wakes
    return text
"""
SUITE = """
prompts: {p: "{{ reply }}"}
cases:
  - id: fast
    vars: {reply: quick}
    assert: [{contains: quick}]
  - id: stuck
    vars: {reply: slow}
    assert: [{contains: slow}]
"""


def _runs_output(runs: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["--runs", str(runs), "runs"]) == 0
    return capsys.readouterr().out


def test_killed_run_is_aborted(pytester: pytest.Pytester, project: PromptProject,
                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Running while its process lives, aborted once SIGKILLed; a finished run still says complete."""
    project.config({"m": "app:answer"}, 'cache = "off"')
    pytester.makepyfile(app=SLOW_APP)
    project.suite(body=SUITE)
    runs = pytester.path / ".promptcheck" / "runs"
    pytester.runpytest("-k", "fast").assert_outcomes(passed=1)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"]
    process = subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        before = set(runs.iterdir())
        deadline = time.monotonic() + 120
        while not any((p / "manifest.json").is_file() for p in set(runs.iterdir()) - before):
            assert process.poll() is None, "the run ended before its first result"
            assert time.monotonic() < deadline, "no run folder appeared"
            time.sleep(0.2)
        lines = _runs_output(runs, capsys).splitlines()
        assert "  running  " in lines[0] and "  complete  " in lines[1], lines
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    lines = _runs_output(runs, capsys).splitlines()
    assert "  aborted  " in lines[0] and "  complete  " in lines[1], lines
