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
                "model  passed  failed  errors  pass rate",
                "a           6       0       0       100%",
                "b           0       6       0         0%",
            ]
        )
