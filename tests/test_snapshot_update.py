"""`--pc-update`: snapshots written, rewritten and unused ones reported/removed (like syrupy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PromptProject
from pytest_promptcheck.stores.snapshots import read_snapshots

SUITE = """
prompts: {p: "{{ reply }}"}
cases:
  - id: one
    vars: {reply: "first line\\nsecond line"}
    assert: [snapshot]
  - id: many
    vars: {reply: "r"}
    repeat: 2
    assert: [snapshot]
  - id: plain
    vars: {reply: "x"}
    assert: [{contains: x}]
"""
SNAP = Path("__snapshots__/test_suite.snap.yaml")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:randomly", "--pc-no-cache", *args)


def test_snapshot_lifecycle(pytester: pytest.Pytester, project: PromptProject) -> None:
    project.suite(body=SUITE)
    missing = run(pytester)
    missing.assert_outcomes(passed=1, failed=2)
    missing.stdout.fnmatch_lines(["*no snapshot stored for*run pytest --pc-update to record it*"])

    written = run(pytester, "--pc-update")
    written.assert_outcomes(passed=3)
    written.stdout.fnmatch_lines(["promptcheck: 3 snapshots written, 0 snapshots updated in *test_suite.snap.yaml"])
    text = (pytester.path / SNAP).read_text()
    assert "test_suite.prompts.yaml::one[echo]: |-\n  first line\n  second line\n" in text
    keys = set(read_snapshots(pytester.path / SNAP))
    assert keys == {"test_suite.prompts.yaml::one[echo]", "test_suite.prompts.yaml::many[echo]#0",
                    "test_suite.prompts.yaml::many[echo]#1"}  # fmt: skip

    run(pytester).assert_outcomes(passed=3)

    pytester.makepyfile(app="def echo(messages, params):\n    return messages[-1]['content'] + '!'\n")
    changed = run(pytester)
    changed.assert_outcomes(passed=1, failed=2)
    changed.stdout.fnmatch_lines(["*output differs from the snapshot*", "*-second line", "*+second line!"])

    updated = run(pytester, "--pc-update")
    updated.assert_outcomes(passed=3)
    updated.stdout.fnmatch_lines(["promptcheck: 0 snapshots written, 3 snapshots updated in *"])
    assert read_snapshots(pytester.path / SNAP)["test_suite.prompts.yaml::one[echo]"] == "first line\nsecond line!"
    run(pytester).assert_outcomes(passed=3)

    project.suite(body=SUITE.replace("    repeat: 2\n", ""))  # `many` now makes one call: #0/#1 unused
    unused = run(pytester)
    unused.assert_outcomes(passed=2, failed=1)  # many[echo] has no snapshot under its single-call key
    unused.stdout.fnmatch_lines(["promptcheck: 2 snapshots unused in *: *many[[]echo[]]#0*", "*--pc-update*"])

    filtered = run(pytester, "--pc-update", "-k", "one")
    filtered.stdout.no_fnmatch_line("*unused*")  # `many` did not run: nothing to say about its keys
    assert len(read_snapshots(pytester.path / SNAP)) == 3

    removed = run(pytester, "--pc-update")
    removed.assert_outcomes(passed=3)
    removed.stdout.fnmatch_lines(["*1 snapshot written*", "*2 snapshots unused*", "*removed (--pc-update)*"])
    assert set(read_snapshots(pytester.path / SNAP)) == {
        "test_suite.prompts.yaml::one[echo]", "test_suite.prompts.yaml::many[echo]",
    }  # fmt: skip


def test_xdist_update_writes_from_the_controller(pytester: pytest.Pytester, project: PromptProject) -> None:
    project.suite(body=SUITE)
    result = pytester.runpytest_subprocess("-n", "2", "--pc-no-cache", "--pc-update")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["promptcheck: 3 snapshots written*"])
    assert len(read_snapshots(pytester.path / SNAP)) == 3
    run(pytester).assert_outcomes(passed=3)
