"""End-to-end smoke test: a suite collected and run through pytest with a python model."""

from __future__ import annotations

import pytest

from conftest import PromptProject


def test_passing_and_failing_cases(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A case whose output meets its assertion passes; one that does not fails with expected vs got."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: good
            vars: { reply: "refund issued" }
            assert: [ { contains: refund } ]
          - id: bad
            vars: { reply: "no idea" }
            assert: [ { contains: refund } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_suite.prompts.yaml::good?echo? PASSED*",
            "*test_suite.prompts.yaml::bad?echo? FAILED*",
            "*✗ contains 'refund'*",
        ]
    )
