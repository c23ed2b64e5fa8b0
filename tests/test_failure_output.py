"""What a failed prompt item prints: expected vs got, diffs, JSON paths, scores, no internal traceback."""

from __future__ import annotations

import pytest

from conftest import PromptProject


def assert_no_internal_traceback(result: pytest.RunResult) -> None:
    """An assertion failure is a report about the model's output, never a traceback into the plugin."""
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "pytest_promptcheck/" not in output
    assert "_pytest/" not in output


def test_equals_failure_shows_a_unified_diff(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A failed `equals` prints a unified diff of expected vs got, with the header naming case and model."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: letter
            vars: { reply: "Dear customer,\\nyour refund was denied.\\nRegards" }
            assert:
              - equals: "Dear customer,\\nyour refund was issued.\\nRegards"
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "case 'letter' · prompt p · model echo (*)",
            "  ✗ equals 'Dear customer,*",
            "      output differs",
            "      --- expected",
            "      +++ got",
            "      @@ -1,3 +1,3 @@",
            "       Dear customer,",
            "      -your refund was issued.",
            "      +your refund was denied.",
            "       Regards",
            "  output: Dear customer,",
            "          your refund was denied.",
        ]
    )
    assert_no_internal_traceback(result)


def test_expected_vs_got_for_text_and_not(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Non-diff failures print `expected X, got Y` with the reason; `not` failures say `expected not X`."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: c
            vars: { reply: "sorry, no refund" }
            assert:
              - contains: issued
              - not_icontains: SORRY
              - contains: refund
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "  ✗ contains 'issued'",
            "      expected 'issued', got 'sorry, no refund'",
            "      ('issued' not found)",
            "  ✗ not_icontains 'SORRY'",
            "      expected not 'SORRY', got 'sorry, no refund'",
            "  ✓ contains 'refund'",
            "  output: sorry, no refund",
        ]
    )
    assert_no_internal_traceback(result)


def test_json_failures_name_the_path(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`json_path` and `json_schema` failures say which JSON path differed, and what was expected there."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: order
            vars: { reply: '{"category": "account", "items": [{"qty": 1}, {"qty": "two"}]}' }
            assert:
              - json_path: { path: "$.category", equals: billing }
              - json_schema:
                  type: object
                  properties:
                    items: { type: array, items: { properties: { qty: { type: integer } } } }
              - is_json
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "  ✗ json_path {'path': '$.category', 'equals': 'billing'}",
            "      at $.category: expected 'billing', got 'account'",
            "  ✗ json_schema {'type': 'object', 'properties': *",
            "      at $.items[[]1].qty: expected {'type': 'integer'}, got 'two'",
            "      ('two' is not of type 'integer')",
            "  ✓ is_json",
        ]
    )
    assert_no_internal_traceback(result)


def test_score_versus_threshold_and_weights(pytester: pytest.Pytester, project: PromptProject) -> None:
    """With a threshold, the failure shows the weighted score against it and each assertion's weight and score."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: weighted
            threshold: 0.8
            vars: { reply: "refund" }
            assert:
              - contains: refund
                weight: 3
              - contains: sorry
                weight: 2
                message: "apologise first"
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "  score 0.60 < threshold 0.80",
            "  ✓ contains 'refund'  [[]weight 3, score 1.00]",
            "  ✗ contains 'sorry'  [[]weight 2, score 0.00]  — apologise first",
        ]
    )
    assert_no_internal_traceback(result)


def test_repeat_failure_lists_failing_calls(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A failed repeated item says how many calls passed, how many min_pass needs, and shows the failing calls."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: rep
            repeat: { n: 4, min_pass: 0.5 }
            vars: { reply: "no" }
            assert: [ { equals: "yes" } ]
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "0/4 calls passed; min_pass 0.5 needs 2",
            "- call (sample 0):",
            "*✗ equals 'yes'*",
            "- call (sample 1):",
            "- call (sample 2):",
            "... and 1 more failing calls (run with -v to see them all)",
        ]
    )
    assert_no_internal_traceback(result)
    verbose = pytester.runpytest("-v")
    verbose.stdout.fnmatch_lines(["- call (sample 3):"])
    verbose.stdout.no_fnmatch_line("*more failing calls*")


def test_verbose_adds_the_rendered_prompt(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`-v` adds the rendered prompt (every message, vars filled in) to the failure; without it, no prompt."""
    project.suite(
        body="""
        prompts:
          chat:
            - system: "You triage tickets."
            - user: "Ticket: {{ ticket }}"
        cases:
          - id: c
            vars: { ticket: "charged twice" }
            assert: [ { contains: billing } ]
    """
    )
    quiet = pytester.runpytest()
    quiet.assert_outcomes(failed=1)
    assert "  prompt:" not in quiet.stdout.str()
    quiet.stdout.fnmatch_lines(["  output: Ticket: charged twice"])

    verbose = pytester.runpytest("-v")
    verbose.assert_outcomes(failed=1)
    verbose.stdout.fnmatch_lines(
        [
            "  prompt:",
            "    [[]system] You triage tickets.",
            "    [[]user] Ticket: charged twice",
            "  output: Ticket: charged twice",
        ]
    )
    assert_no_internal_traceback(verbose)


def test_long_output_is_clipped(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A very long output is clipped in the failure text instead of flooding the terminal."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}{{ reply }}{{ reply }}{{ reply }}{{ reply }}"
        cases:
          - id: long
            vars: { reply: "%s" }
            assert: [ { contains: zzz } ]
    """
        % ("abcdefghij" * 40)
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "abcdefghij" * 200 not in output
    result.stdout.fnmatch_lines(["      expected 'zzz', got 'abcdefghij*...", "  output: abcdefghij*..."])


def test_user_check_exception_shows_the_users_traceback(pytester: pytest.Pytester, project: PromptProject) -> None:
    """An exception inside a `python:` check is a real bug: the user's own line and error are shown."""
    pytester.makepyfile(
        checks="""
        def explodes(output, context):
            data = {}
            return data["missing-key"]
        """
    )
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: c
            vars: { reply: "x" }
            assert: [ { python: "checks:explodes" } ]
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)  # a bug in a check is an error, with its traceback
    result.stdout.fnmatch_lines(
        [
            '>       return data[[]"missing-key"]',
            "E       KeyError: 'missing-key'",
            "checks.py:3: KeyError",
        ]
    )


def test_crashing_python_model_shows_the_users_traceback(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A `python` model that raises is an error (not a failure) showing the app's line and exception."""
    project.config(models={"broken": "app:broken"})
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: c
            vars: { reply: "x" }
            assert: [ { contains: x } ]
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(['*raise RuntimeError("the app crashed")*', "*RuntimeError: the app crashed*"])
    result.stdout.fnmatch_lines(["*app.py:*: RuntimeError"])


def test_a_secret_echoed_by_the_model_is_scrubbed_from_failures_and_junitxml(
    pytester: pytest.Pytester, project: PromptProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model that leaks a key from the environment: the key never reaches the terminal or junitxml."""
    secret = "sk-leak-4f8Q2zW9xR7tK1mN3pB6"
    monkeypatch.setenv("PC_LEAKY_API_KEY", secret)
    pytester.makepyfile(
        leaky="import os\n\ndef leak(messages, params):\n    return 'key is ' + os.environ['PC_LEAKY_API_KEY']\n"
    )
    project.config({"leaky": "leaky:leak"})
    project.suite(
        body="""
        prompts: {p: "{{ x }}"}
        cases:
          - id: c
            vars: {x: hi}
            assert: [ { equals: "no key" } ]
    """
    )
    result = pytester.runpytest("-v", "--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*key is [[]REDACTED[]]*"])
    assert secret not in result.stdout.str() + result.stderr.str()
    assert secret not in (pytester.path / "out.xml").read_text()
