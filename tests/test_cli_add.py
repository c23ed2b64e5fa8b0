"""`promptcheck add`: one model call, confirmation, append keeping every other byte of the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PromptProject
from pytest_promptcheck.suites.load import load_suite

SUITE = """\
# Triage suite: keep this comment
description: "demo"   # trailing comment
prompts:
  p: "Say {{ reply }}"   # the prompt
defaults: { models: [echo], params: {} }
cases:
  - id: first          # comment on the case
    vars: { reply: "yes" }
    assert: [ { contains: "yes" } ]

# metrics belong to the suite
metrics: {}
"""


def add(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_promptcheck.cli", "add", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, input=stdin, timeout=60)


@pytest.fixture
def suite(pytester: pytest.Pytester, project: PromptProject) -> Path:
    path = pytester.path / "test_suite.prompts.yaml"
    path.write_text(SUITE)
    return path


def test_add_as_ideal_keeps_the_rest_byte_for_byte(suite: Path) -> None:
    result = add(suite.parent, suite.name, "--id", "second", "--var", "reply=no way", "--as", "ideal", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Say no way" in result.stdout
    text = suite.read_text()
    head, tail = SUITE.split("\n# metrics", 1)
    assert text.startswith(head)  # everything before the insertion point, untouched
    assert text.endswith("# metrics" + tail)  # and everything after it
    case = load_suite(suite).suite.cases[-1]
    assert (case.id, case.ideal, case.vars) == ("second", "Say no way", {"reply": "no way"})
    assert [a.name for a in case.assertions] == ["fuzzy"]


def test_confirmation_no_writes_nothing(suite: Path) -> None:
    result = add(suite.parent, suite.name, "--id", "second", "--var", "reply=x", stdin="n\n")
    assert result.returncode == 1
    assert "nothing written" in result.stderr
    assert suite.read_text() == SUITE
    result = add(suite.parent, suite.name, "--id", "second", "--var", "reply=x", stdin="y\n")
    assert result.returncode == 0
    assert load_suite(suite).suite.cases[-1].vars == {"reply": "x"}


def test_add_as_snapshot_then_pytest_passes(pytester: pytest.Pytester, suite: Path) -> None:
    result = add(suite.parent, suite.name, "--id", "snap", "--var", "reply=two\nlines", "--as", "snapshot", "--yes")
    assert result.returncode == 0, result.stderr
    snap = suite.parent / "__snapshots__" / "test_suite.snap.yaml"
    assert "test_suite.prompts.yaml::snap[echo]: |-" in snap.read_text()
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_bad_input(suite: Path) -> None:
    missing = add(suite.parent, "nope.prompts.yaml", "--id", "x", "--yes")
    assert missing.returncode == 1 and "no such suite file" in missing.stderr
    duplicate = add(suite.parent, suite.name, "--id", "first", "--var", "reply=x", "--yes")
    assert duplicate.returncode == 1 and "already has a case" in duplicate.stderr
    undefined = add(suite.parent, suite.name, "--id", "x", "--yes")
    assert undefined.returncode == 1 and "reply" in undefined.stderr
    unknown = add(suite.parent, suite.name, "--id", "x", "--var", "reply=1", "--model", "ghost", "--yes")
    assert unknown.returncode == 1 and "ghost" in unknown.stderr
    assert suite.read_text() == SUITE


def test_an_echoed_secret_is_scrubbed_before_it_enters_the_suite(suite: Path) -> None:
    """The output is stored in a file people commit: a credential the model echoed is replaced first."""
    key = "sk-" + "Q" * 30
    result = add(suite.parent, suite.name, "--id", "second", "--var", f"reply={key}", "--as", "ideal", "--yes")
    assert result.returncode == 0, result.stderr
    assert suite.read_text().count(key) == 1  # only in the var the user typed; not in ideal or the fuzzy value
    assert key not in result.stdout
    assert load_suite(suite).suite.cases[-1].ideal == "Say [REDACTED]"
