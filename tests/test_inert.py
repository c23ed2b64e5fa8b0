"""Without suites the plugin is inert and cheap; with xdist it reports like without."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import PromptProject

HEAVY = ("yaml", "jinja2", "jsonschema", "jsonpath_ng", "rapidfuzz", "openai", "anthropic", "torch", "transformers")


def test_no_suite_writes_nothing(pytester: pytest.Pytester) -> None:
    """A project without suites gets no .promptcheck folder and no suite cache."""
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    pytester.runpytest().assert_outcomes(passed=1)
    assert not (pytester.path / ".promptcheck").exists()
    assert not list(pytester.path.glob(".pytest_cache/d/promptcheck*"))


def test_import_is_light() -> None:
    """Importing the plugin (as pytest does at startup) imports none of the heavy libraries."""
    code = f"import sys, pytest_promptcheck.plugin; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_xdist_gives_the_same_outcomes_and_summary(pytester: pytest.Pytester, project: PromptProject) -> None:
    """With -n 2 the items, outcomes and per-model table match a run without xdist."""
    project.config({"a": "app:echo", "b": "app:echo_upper"})
    cases = "\n".join(f"  - {{id: c{i}, vars: {{x: 'word {i}'}}, assert: [{{contains: word}}]}}" for i in range(6))
    project.suite(body=f'prompts: {{p: "{{{{ x }}}}"}}\ncases:\n{cases}\n')
    plain = pytester.runpytest_subprocess()
    plain.assert_outcomes(passed=6, failed=6)
    spread = pytester.runpytest_subprocess("-n", "2")
    spread.assert_outcomes(passed=6, failed=6)
    for result in (plain, spread):
        result.stdout.fnmatch_lines(
            [
                "model  items  passed  failed  errors  pass rate   95% interval",
                "a          6       6       0       0     100.0%  [61.0, 100.0]",
                "b          6       0       6       0       0.0%    [0.0, 39.0]",
            ]
        )


RECORD_PRINTER = """
from pytest_promptcheck import record_of

records = []


def pytest_runtest_logreport(report):
    record = record_of(report)
    if record is not None:
        records.append(record)


def pytest_terminal_summary(terminalreporter):
    for r in sorted(records, key=lambda r: r.item):
        call = r.calls[0]
        terminalreporter.write_line(
            f"REC {r.case} {r.model} {r.outcome} {call.output!r} {call.assertions[0].passed}"
        )
"""


@pytest.mark.parametrize("args", [[], ["-n", "2"]])
def test_result_records_reach_the_controller(
    pytester: pytest.Pytester, project: PromptProject, args: list[str]
) -> None:
    """Each item's result record rides on its report, so the xdist controller sees the same records."""
    pytester.makeconftest(RECORD_PRINTER)
    project.suite(
        body='prompts: {p: "{{ x }}"}\ncases:\n  - {id: c1, vars: {x: yes}, assert: [{equals: "yes"}]}\n'
        '  - {id: c2, vars: {x: no}, assert: [{equals: "yes"}]}\n'
    )
    result = pytester.runpytest_subprocess(*args)
    result.stdout.fnmatch_lines(["REC c1 echo passed 'yes' True", "REC c2 echo failed 'no' False"])
