"""Model-graded assertions: `judge` / `rubric` with a `python` model as the grader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import PromptProject
from pytest_promptcheck.providers.base import Completion
from pytest_promptcheck.verdicts.base import CheckContext, PrepareContext
from pytest_promptcheck.verdicts.model_graded import JudgeArg, _preparer, judge, parse_verdict

# Graders that read the output from the grading prompt (between <output> tags) and answer in
# different ways; `recording` also writes the messages and params it got to judge_call.json.
JUDGES = """
import json
import re

from pytest_promptcheck.errors import ProviderError


def _output(messages):
    return re.search(r"<output>\\n(.*?)\\n</output>", messages[-1]["content"], re.DOTALL).group(1)


def polite(messages, params):
    if "please" in _output(messages).lower():
        return '{"score": 0.9, "reason": "says please"}'
    return 'Sure.\\n```json\\n{"score": 0.1, "reason": "rude: no please"}\\n```'


def recording(messages, params):
    with open("judge_call.json", "w", encoding="utf-8") as f:
        json.dump({"messages": messages, "params": params}, f)
    return "Score: 8/10. Reason: fine"


def rambling(messages, params):
    return "Well, it depends on how you look at it."


def rate_limited(messages, params):
    raise ProviderError("python", "grader", "rate limited by the judge API", status=429)


def crashing(messages, params):
    raise RuntimeError("the judge crashed")
"""

SUITE = """
prompts:
  p: "{{ reply }}"
cases:
  - id: c
    vars: { reply: "Thanks, please wait." }
    assert:
      - judge: "The reply is polite"
"""


def configure(project: PromptProject, grader: str = "judges:polite", extra: str = "") -> None:
    """Models `echo` (runs the cases) and `grader` (only grades: not in the default `models`)."""
    project.pytester.makepyfile(judges=JUDGES)
    project.pytester.makepyprojecttoml(
        "\n".join(
            [
                "[tool.promptcheck]",
                'models = ["echo"]',
                extra,
                '[tool.promptcheck.model.echo]\nprovider = "python"\nfunction = "app:echo"',
                f'[tool.promptcheck.model.grader]\nprovider = "python"\nfunction = "{grader}"',
            ]
        )
    )


def test_judge_passes_and_fails_with_the_judges_reason(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A score >= min passes; a lower one fails showing score, min and the judge's reason; `rubric` is an alias."""
    configure(project)
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: polite
            vars: { reply: "Please wait a moment." }
            assert: [ { judge: { rubric: "The reply is polite", model: grader } } ]
          - id: rude
            vars: { reply: "Wait." }
            assert: [ { rubric: { rubric: "The reply is polite", model: grader } } ]
          - id: strict
            vars: { reply: "Please wait a moment." }
            assert: [ { judge: { rubric: "The reply is polite", model: grader, min: 0.95 } } ]
          - id: negated
            vars: { reply: "Wait." }
            assert: [ { not_judge: { rubric: "The reply is polite", model: grader } } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        ["*::polite?echo? PASSED*", "*::rude?echo? FAILED*", "*::strict?echo? FAILED*", "*::negated?echo? PASSED*"]
    )
    result.stdout.fnmatch_lines(
        [
            "*✗ rubric {'rubric': 'The reply is polite'*",
            "*judge 'grader': score 0.10 < min 0.50 — rude: no please*",
        ]
    )
    result.stdout.fnmatch_lines(["*judge 'grader': score 0.90 < min 0.95 — says please*"])


def test_default_judge_comes_from_config(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`[tool.promptcheck] judge = "grader"` grades a bare `judge: rubric`."""
    configure(project, extra='judge = "grader"')
    project.suite(body=SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_no_judge_model_is_a_collection_error(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Without `judge` in the config or `model:` in the assertion, collection says how to set one."""
    configure(project)
    project.suite(body=SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ['*test_suite.prompts.yaml:7: *`judge` needs a grader model: set `[[]tool.promptcheck[]] judge = "MODEL"`*']
    )


def test_bad_judge_arguments_are_collection_errors(pytester: pytest.Pytester, project: PromptProject) -> None:
    """An unknown grader, a bad min, unknown keys, an empty rubric and non-mapping params fail at their lines."""
    configure(project, extra='judge = "grader"')
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: bad
            vars: { reply: "x" }
            assert:
              - judge: { rubric: "polite", model: gpt }
              - judge: { rubric: "polite", min: 2 }
              - rubric: { rubric: "polite", grader: gpt }
              - judge: { rubric: "  " }
              - judge: { rubric: "polite", params: [1] }
              - judge: [ "polite" ]
              - judge
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*7 problem(s) in this suite*",
            "*:7: *`judge` model 'gpt' is not a configured model (configured: echo, grader)*",
            "*:8: *`judge` min is a score between 0 and 1, got 2*",
            "*:9: *`rubric` has unknown key(s) [[]'grader'[]]; valid: rubric, model, min, params*",
            "*:10: *`judge` needs a non-empty `rubric` text*",
            "*:11: *`judge` params must be a mapping*",
            "*:12: *`judge` needs a rubric text or {rubric, model, min, params}, got [[]'polite'[]]*",
            "*:13: *`judge` needs an argument*",
        ]
    )


def test_unreadable_verdict_is_an_error_quoting_it(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A verdict with no JSON, score or PASS/FAIL, asked again, is no verdict: the item errors (also under
    `not`) as "judge unreadable" and shows the raw verdict; it is not a failure of the model."""
    configure(project, grader="judges:rambling", extra='judge = "grader"')
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: plain
            vars: { reply: "x" }
            assert: [ { judge: "polite" } ]
          - id: negated
            vars: { reply: "x" }
            assert: [ { judge: "polite", not: true } ]
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    line = "*judge unreadable: judge 'grader' gave a verdict that could not be read (asked 2 times) "
    line += "(no JSON verdict, score or PASS/FAIL found): "
    result.stdout.fnmatch_lines([line + "'Well, it depends on how you look at it.'*"] * 2)


def test_judge_prompt_holds_rubric_prompt_and_output(pytester: pytest.Pytester, project: PromptProject) -> None:
    """The grader gets a system message and a user message with the rubric, rendered prompt and output."""
    configure(project, grader="judges:recording", extra='judge = "grader"')
    project.suite(
        body="""
        prompts:
          p:
            - system: "You are a courteous assistant."
            - user: "{{ reply }}"
        cases:
          - id: c
            vars: { reply: "Please hold the line." }
            assert: [ { judge: { rubric: "Mentions holding", params: { temperature: 0 } } } ]
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    call = json.loads((pytester.path / "judge_call.json").read_text(encoding="utf-8"))
    system, user = call["messages"]
    assert system["role"] == "system" and '{"score": <a number from 0 to 1>' in system["content"]
    assert user["role"] == "user"
    assert "<rubric>\nMentions holding\n</rubric>" in user["content"]
    assert "[system] You are a courteous assistant.\n[user] Please hold the line." in user["content"]
    assert "<output>\nPlease hold the line.\n</output>" in user["content"]
    assert call["params"]["temperature"] == 0


def test_judge_provider_error_fails_the_item_with_its_message(
    pytester: pytest.Pytester, project: PromptProject
) -> None:
    """A judge call that fails is reported with the provider's message, not a traceback."""
    configure(project, grader="judges:rate_limited", extra='judge = "grader"')
    project.suite(body=SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)  # the judge failing is not the output failing
    result.stdout.fnmatch_lines(
        [
            "*case 'c' · prompt p · model echo*",
            "*python model 'grader' (HTTP 429): the judge call failed: rate limited by the judge API*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_crashing_judge_shows_its_traceback(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A python grader that raises is a bug in user code: its line and exception are shown."""
    configure(project, grader="judges:crashing", extra='judge = "grader"')
    project.suite(body=SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(['*raise RuntimeError("the judge crashed")*', "*RuntimeError: the judge crashed*"])


# -- the check and the verdict reader on their own -----------------------------------------------


def fake_context(answer: str, calls: list[Any]) -> CheckContext:
    def call_model(name: str, messages: list[dict[str, str]], params: dict[str, Any] | None) -> Completion:
        calls.append((name, messages, params))
        return Completion(output=answer)

    return CheckContext(
        completion=Completion(output="Please wait."),
        case=None,  # type: ignore[arg-type]
        model=None,  # type: ignore[arg-type]
        variant="p",
        messages=({"role": "user", "content": "Say wait"},),
        item_id="suite::c[echo]",
        snapshot_key="suite::c[echo]",
        suite_path=Path("suite.prompts.yaml"),
        call_model=call_model,
    )


def test_outcome_details_keep_the_judges_prompt_and_raw_verdict() -> None:
    calls: list[Any] = []
    arg = JudgeArg("The reply is polite", "grader", 0.5, {"temperature": 0})
    outcome = judge("Please wait.", arg, fake_context('{"score": 0.7, "reason": "polite enough"}', calls))
    assert outcome.passed and outcome.score == pytest.approx(0.7) and outcome.definite
    assert outcome.reason == "judge 'grader': score 0.70 >= min 0.50 — polite enough"
    [(name, messages, params)] = calls
    assert (name, params) == ("grader", {"temperature": 0})
    assert outcome.details == {
        "judge_model": "grader",
        "judge_prompt": messages,
        "judge_verdict": '{"score": 0.7, "reason": "polite enough"}',
        "judge_reason": "polite enough",
    }
    negated = outcome.negated()
    assert not negated.passed and negated.details == outcome.details

    unreadable = judge("Please wait.", arg, fake_context("hmm", []))
    assert not unreadable.passed and not unreadable.definite
    assert unreadable.details is not None and unreadable.details["judge_verdict"] == "hmm"


def test_prepare_checks_the_grader_against_configured_models() -> None:
    context = PrepareContext(Path("."), Path("."), judge_model="grader", models=("echo", "grader"))
    prepare = _preparer("judge")
    assert prepare("Polite", context) == JudgeArg("Polite", "grader", 0.5, {})
    assert prepare({"rubric": "Polite", "model": "echo", "min": 1}, context).model == "echo"


@pytest.mark.parametrize(
    ("raw", "score", "passed", "reason"),
    [
        ('{"score": 0.9, "reason": "polite"}', 0.9, None, "polite"),
        ('{"score": 1, "pass": false}', 1.0, None, ""),  # the score decides when both are given
        ('Here:\n```json\n{"pass": false, "reason": "rude"}\n```', None, False, "rude"),
        ('Verdict below. {"Score": "80%", "explanation": "ok"} Hope it helps', 0.8, None, "ok"),
        ('{"verdict": "PASS", "rationale": "fine"}', None, True, "fine"),
        ('<think>maybe PASS, maybe FAIL</think>\n{"score": 0.25}', 0.25, None, ""),
        ("Score: 8/10. Reason: mostly polite", 0.8, None, "mostly polite"),
        ("**Score:** 0.3", 0.3, None, "**Score:** 0.3"),
        ("score of 70%", 0.7, None, "score of 70%"),
        ("PASS - looks good", None, True, "PASS - looks good"),
        ("Verdict: fail because it is rude", None, False, "it is rude"),
        ("FAILED", None, False, "FAILED"),
    ],
)
def test_parse_verdict_reads_lenient_forms(raw: str, score: float | None, passed: bool | None, reason: str) -> None:
    verdict = parse_verdict(raw)
    assert verdict.readable, verdict.problem
    assert (verdict.score, verdict.passed, verdict.reason) == (score, passed, reason)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "empty answer"),
        ("It could PASS or FAIL", "it says both PASS and FAIL"),
        ("I think it passes", "no JSON verdict, score or PASS/FAIL found"),
        ('{"score": 8, "reason": "out of ten"}', "score 8 is not a number from 0 to 1"),
        ('{"pass": "maybe"}', "pass 'maybe' is not pass/fail"),
        ('{"reason": "no verdict"}', 'the JSON has neither "score" nor "pass"'),
        ("Score: 12/10", "score 'Score: 12/10' is not from 0 to 1"),
    ],
)
def test_parse_verdict_rejects_unreadable_forms(raw: str, problem: str) -> None:
    verdict = parse_verdict(raw)
    assert not verdict.readable
    assert verdict.problem == problem
