"""Objects that live until exit are frozen out of the garbage collector only when the process ends with the session."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

SUITE = """
prompts: {p: "{{ reply }}"}
cases:
  - {id: a, vars: {reply: yes}, assert: [{equals: "yes"}]}
  - {id: b, vars: {reply: no}, assert: [{equals: "no"}]}
"""

# Written at the very end of the session: how many objects the collector no longer looks at.
REPORT_FREEZE = """
import gc
from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    process = getattr(config, "workerinput", {}).get("workerid", "main")
    Path(str(config.rootpath), f"frozen-{process}.txt").write_text(str(gc.get_freeze_count()))
"""


@pytest.fixture
def frozen_project(project, pytester: pytest.Pytester):
    project.suite(body=SUITE)
    pytester.makeconftest(REPORT_FREEZE)
    return pytester


def _frozen(pytester: pytest.Pytester, process: str = "main") -> int:
    return int(Path(pytester.path, f"frozen-{process}.txt").read_text())


def test_the_pytest_command_freezes_what_lives_until_exit(frozen_project: pytest.Pytester) -> None:
    frozen_project.runpytest_subprocess().assert_outcomes(passed=2)
    assert _frozen(frozen_project) > 10_000  # the items, suites, reports and records, at least


def test_an_xdist_worker_freezes_too(frozen_project: pytest.Pytester) -> None:
    frozen_project.runpytest_subprocess("-n", "2").assert_outcomes(passed=2)
    assert _frozen(frozen_project, "gw0") > 10_000
    assert _frozen(frozen_project, "gw1") > 10_000
    assert _frozen(frozen_project) == 0  # the controller collects no prompt item: nothing of ours to freeze


def test_a_plain_python_suite_freezes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(REPORT_FREEZE)
    pytester.makepyfile(test_plain="def test_a():\n    assert True\n")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    assert _frozen(pytester) == 0


def test_an_in_process_run_keeps_everything_collectable(frozen_project: pytest.Pytester) -> None:
    before = gc.get_freeze_count()
    frozen_project.runpytest_inprocess().assert_outcomes(passed=2)
    assert gc.get_freeze_count() == before
    assert _frozen(frozen_project) == before


def test_pytest_main_in_a_longer_program_keeps_everything_collectable(frozen_project: pytest.Pytester) -> None:
    script = frozen_project.makepyfile(
        program="import gc, sys\nimport pytest\n\n"
        "code = pytest.main(['-q', '-p', 'no:cacheprovider'])\n"
        "print('exit', int(code), 'frozen', gc.get_freeze_count())\n"
    )
    result = frozen_project.runpython(script)
    result.stdout.fnmatch_lines(["exit 0 frozen 0"])
