"""Multi-turn cases (``turns:``, issue 16): the model's replies fed back, each turn judged and named.

The model here is a scripted `python` agent (what a python model may return: text, or a dict with
``tool_calls``); the SDK providers' wire translation is tested with the tests' server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import PromptProject

# A scripted agent: asks for the weather tool on a weather question, answers from a tool result,
# asks for the forecast on "next three days", else echoes. Every call appends to calls.log.
AGENT = """
import json


def agent(messages, params):
    with open("calls.log", "a") as log:
        log.write(json.dumps(messages) + "\\n")
    last = messages[-1]
    if last["role"] == "tool":
        results = [m for m in messages if m["role"] == "tool"]
        return "; ".join(f"{m['name']} says {m['content']}" for m in results[-2:])
    text = last["content"]
    if text.startswith("Weather in"):
        cities = text[len("Weather in "):].rstrip("?").split(" and ")
        return {"tool_calls": [{"name": "get_weather", "arguments": {"city": c}} for c in cities]}
    if "next three days" in text:
        return {"output": "", "tool_calls": [{"name": "get_forecast", "arguments": '{"days": 3}', "id": "f1"}]}
    if text == "say nothing":
        return "nothing"
    return "echo: " + text


def weather(call, vars):
    return {"city": call["arguments"]["city"], "temp": len(call["arguments"]["city"])}
"""

TRIP = """
prompts:
  guided:
    - system: "You are a travel assistant for {{ city }}."
cases:
  - id: trip
    vars: { city: Oslo }
    turns:
      - user: "Weather in {{ city }}?"
        assert: [ { python: "checks:called_weather" } ]
      - tool_results: { get_weather: '{"temp": 20}' }
        assert: [ { contains: "20" } ]
      - user: "And the next three days?"
        assert: [ { python: "checks:called_forecast" } ]
"""

CHECKS = """
def called_weather(output, context):
    return [c.name for c in context.completion.tool_calls] == ["get_weather"]


def called_forecast(output, context):
    calls = context.completion.tool_calls
    return len(calls) == 1 and calls[0].name == "get_forecast" and calls[0].arguments == {"days": 3}
"""


@pytest.fixture
def agent(pytester: pytest.Pytester, project: PromptProject) -> PromptProject:
    pytester.makepyfile(agent=AGENT, checks=CHECKS)
    project.config({"bot": "agent:agent"})
    return project


def records(root: Path) -> list[dict[str, Any]]:
    newest = sorted((root / ".promptcheck" / "runs").iterdir())[-1]
    return [json.loads(line) for line in (newest / "results.jsonl").read_text().splitlines()]


def agent_calls(root: Path) -> list[list[dict[str, Any]]]:
    log = root / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_three_turns_with_a_tool_result_pass(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """Each turn is a call fed the history: the tool call, then the tool's result, then the next question."""
    agent.suite(body=TRIP)
    pytester.runpytest("--pc-no-cache").assert_outcomes(passed=1)
    lines = records(pytester.path)
    assert [line["turn"] for line in lines] == [1, 2, 3]
    assert [line["passed"] for line in lines] == [True, True, True]
    second = lines[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool"]
    assert second[2]["tool_calls"] == [{"id": "call_1_0", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]
    assert second[3] == {"role": "tool", "tool_call_id": "call_1_0", "name": "get_weather", "content": '{"temp": 20}'}
    third = lines[2]["messages"]
    assert third[-2:] == [
        {"role": "assistant", "content": 'get_weather says {"temp": 20}'},
        {"role": "user", "content": "And the next three days?"},
    ]
    assert lines[2]["tool_calls"][0]["name"] == "get_forecast"
    assert len(agent_calls(pytester.path)) == 3


def test_a_failing_turn_is_named_and_later_turns_still_run(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """contains '21' fails on the tool-result turn: the failure names turn 2; turn 3 runs and passes."""
    agent.suite(body=TRIP.replace('contains: "20"', 'contains: "21"'))
    result = pytester.runpytest("--pc-no-cache")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "1 of 3 turns failed; first turn 2 (tool_results get_weather): contains '21' failed",
        "*- turn 2 (tool_results get_weather) (sample 0):",
        "*✗ contains '21'",
    ])  # fmt: skip
    assert [line["passed"] for line in records(pytester.path)] == [True, False, True]


def test_case_assertions_apply_to_the_last_turn(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """The case's own `assert:` (and defaults) judges the conversation's last answer, not every turn."""
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: chat
            turns:
              - user: "hello"
              - user: "bye"
            assert: [ { contains: "echo: bye" } ]
        """
    )
    pytester.runpytest("--pc-no-cache").assert_outcomes(passed=1)
    lines = records(pytester.path)
    assert [len(line["assertions"]) for line in lines] == [0, 1]


def test_tool_results_list_answers_calls_in_order(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """Two calls in one turn, a list of two results: the first answers the first call."""
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: two
            turns:
              - user: "Weather in Oslo and Rome?"
              - tool_results: [ "cold", "warm" ]
                assert: [ { equals: "get_weather says cold; get_weather says warm" } ]
        """
    )
    pytester.runpytest("--pc-no-cache").assert_outcomes(passed=1)
    tools = [m for m in records(pytester.path)[1]["messages"] if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in tools] == [("call_1_0", "cold"), ("call_1_1", "warm")]


def test_tool_handler_computes_results(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """`tool_handler: module:function` gets each call and the case's vars; a dict result is sent as JSON."""
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: handled
            turns:
              - user: "Weather in Oslo and Lisbon?"
              - tool_handler: agent:weather
                assert: [ { contains: '"temp": 6' }, { contains: '"temp": 4' } ]
        """
    )
    pytester.runpytest("--pc-no-cache").assert_outcomes(passed=1)


def test_a_tool_turn_with_no_call_to_answer_fails_the_turn_before(
    pytester: pytest.Pytester, agent: PromptProject
) -> None:
    """The model answered in text: the tool turn cannot be sent, the failure says so, the conversation ends."""
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: silent
            turns:
              - user: "say nothing"
              - tool_results: { get_weather: "sunny" }
              - user: "and then?"
        """
    )
    result = pytester.runpytest("--pc-no-cache")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*✗ turn 2 (tool_results get_weather)", "*turn 1 made no tool call to answer*"])
    assert [line["turn"] for line in records(pytester.path)] == [1]
    assert len(agent_calls(pytester.path)) == 1


def test_repeats_repeat_the_whole_conversation(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """repeat: 2 with two turns: four calls, each conversation's turns in order."""
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: twice
            repeat: 2
            turns:
              - user: "hello"
              - user: "bye"
                assert: [ { contains: bye } ]
        """
    )
    pytester.runpytest("--pc-no-cache").assert_outcomes(passed=1)
    assert [(line["sample"], line["turn"]) for line in records(pytester.path)] == [(0, 1), (0, 2), (1, 1), (1, 2)]


def test_replay_of_a_recorded_conversation_makes_no_calls(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """--pc-record keeps every turn; --pc-replay answers them all from the cassette: the agent is never called."""
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: chat
            vars: { name: Ann }
            turns:
              - user: "hello {{ name }}"
                assert: [ { contains: "hello Ann" } ]
              - user: "bye"
                assert: [ { contains: "echo: bye" } ]
        """
    )
    recorded = pytester.runpytest("--pc-record", "--pc-no-cache")
    recorded.assert_outcomes(passed=1)
    recorded.stdout.fnmatch_lines(["promptcheck record: 2 entries in *"])
    assert len(agent_calls(pytester.path)) == 2
    replayed = pytester.runpytest("--pc-replay")
    replayed.assert_outcomes(passed=1)
    replayed.stdout.fnmatch_lines(["promptcheck replay: 2/2 calls answered from cassettes"])
    assert len(agent_calls(pytester.path)) == 2
    assert [line["turn"] for line in records(pytester.path)] == [1, 2]


def test_the_cache_key_covers_the_history(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """A changed first turn changes the second turn's request: nothing of the old conversation is reused."""
    body = """
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: chat
            turns:
              - user: "FIRST"
              - user: "bye"
        """
    agent.suite(body=body)
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=1)
    assert len(agent_calls(pytester.path)) == 2  # the second run: both turns from the cache
    agent.suite(body=body.replace("FIRST", "first, changed"))
    pytester.runpytest().assert_outcomes(passed=1)
    assert len(agent_calls(pytester.path)) == 4


def test_turn_problems_are_file_line_errors(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """A tool turn first, a turn with both kinds, an undefined var in a user turn: each at its line."""
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: bad
            turns:
              - tool_results: { get_weather: sunny }
              - user: "hi"
                tool_results: [ x ]
        """
    )
    agent.suite(
        name="test_vars",
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: undefined
            turns:
              - user: "hi {{ nobody }}"
        """,
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([
        "*test_suite.prompts.yaml:5: [[]case 'bad'] turn 1 answers tool calls, but no turn came before it; *",
        "*test_suite.prompts.yaml:6: [[]case 'bad'] turn 2 is both a `user:` turn and a tool turn; split it*",
        "*test_vars.prompts.yaml:3: [[]case 'undefined'] turns: 'nobody' is undefined; define it in the case's `vars`*",
    ], consecutive=False)  # fmt: skip


def test_lint_never_imports_a_tool_handler(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """`promptcheck lint` lists the handler it would import; the handler's module never runs."""
    pytester.makepyfile(handlers='open("imported.txt", "w").write("x")\n\ndef handle(call, vars):\n    return "ok"\n')
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: handled
            turns:
              - user: "Weather in Oslo?"
              - tool_handler: handlers:handle
        """
    )
    done = subprocess.run([sys.executable, "-m", "pytest_promptcheck.cli", "lint"], cwd=pytester.path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_suite.prompts.yaml:6: would import handlers:handle (tool_handler); not imported by lint" in done.stdout
    assert not (pytester.path / "imported.txt").exists()
    pytester.runpytest("--pc-no-cache").assert_outcomes(passed=1)  # the run imports it
    assert (pytester.path / "imported.txt").exists()


def test_counterfactual_values_each_get_a_conversation(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """A swapped var in a user turn: one conversation per value, each turn rendered with its value."""
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: names
            counterfactual: { name: [Ann, Bo] }
            turns:
              - user: "hello {{ name }}"
              - user: "bye {{ name }}"
                assert: [ { contains: "echo: bye" } ]
        """
    )
    pytester.runpytest("--pc-no-cache").assert_outcomes(passed=1)
    lines = records(pytester.path)
    assert [(line["binding"]["name"], line["turn"], line["messages"][-1]["content"]) for line in lines] == [
        ("Ann", 1, "hello Ann"), ("Ann", 2, "bye Ann"), ("Bo", 1, "hello Bo"), ("Bo", 2, "bye Bo"),
    ]  # fmt: skip


def test_snapshots_are_kept_per_turn(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """`snapshot` on two turns: --pc-update stores each turn under its own key; the next run passes."""
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: snap
            turns:
              - user: "hello"
                assert: [ snapshot ]
              - user: "bye"
                assert: [ snapshot ]
        """
    )
    pytester.runpytest("--pc-update", "--pc-no-cache")
    stored = (pytester.path / "__snapshots__" / "test_suite.snap.yaml").read_text()
    assert "#0@turn1" in stored and "#0@turn2" in stored and "echo: bye" in stored
    pytester.runpytest("--pc-no-cache").assert_outcomes(passed=1)


def test_a_conversation_pairs_baseline_and_candidate(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """Later turns hold each model's own replies; the sides pair on the first turn's prompt, as one case."""
    pytester.makepyfile(shout="def shout(messages, params):\n    return messages[-1]['content'].upper()\n")
    agent.config({"bot": "agent:agent", "loud": "shout:shout"}, 'baseline = "bot"\ncandidate = "loud"')
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: chat
            turns:
              - user: "hello"
              - user: "bye"
                assert: [ { contains: "bye" } ]
        """
    )
    result = pytester.runpytest("--pc-no-cache")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*regressions 1 · known gaps 0 · unpaired 0*"])


def test_a_dry_run_counts_every_turn(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """--pc-dry-run lists all three turns of the conversation (replies unknown) and calls nothing."""
    agent.suite(body=TRIP)
    result = pytester.runpytest("--pc-dry-run")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["dry run: 3 calls would be made*"])
    assert agent_calls(pytester.path) == []


def test_replay_of_a_conversation_with_tool_calls(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """The cassette keeps each turn's tool calls: the replayed conversation sends the same tool turn."""
    agent.suite(body=TRIP)
    pytester.runpytest("--pc-record", "--pc-no-cache").assert_outcomes(passed=1)
    assert len(agent_calls(pytester.path)) == 3
    replayed = pytester.runpytest("--pc-replay")
    replayed.assert_outcomes(passed=1)
    replayed.stdout.fnmatch_lines(["promptcheck replay: 3/3 calls answered from cassettes"])
    assert len(agent_calls(pytester.path)) == 3
    assert records(pytester.path)[1]["messages"][2]["tool_calls"][0]["name"] == "get_weather"


def test_a_user_turn_after_an_unanswered_tool_call_fails(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """The model called a tool and the next turn is the user's: no API takes that, the turn before fails."""
    agent.suite(
        body="""
        prompts: { p: [ { system: "Be brief." } ] }
        cases:
          - id: skipped-result
            turns:
              - user: "Weather in Oslo?"
              - user: "never mind"
        """
    )
    result = pytester.runpytest("--pc-no-cache")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*✗ turn 2 (user)",
        "*turn 1 called get_weather, which no tool_results turn answers before this user turn; add a `tool_results:`*",
    ])  # fmt: skip
    assert len(agent_calls(pytester.path)) == 1


def test_verbose_failure_shows_the_history_with_its_tool_calls(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """-v prints each turn's prompt: the assistant's tool call and the tool's answer are in it."""
    agent.suite(body=TRIP.replace('contains: "20"', 'contains: "21"'))
    result = pytester.runpytest("--pc-no-cache", "-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*[[]assistant] → get_weather({"city": "Oslo"})', '*[[]tool] {"temp": 20}'])
