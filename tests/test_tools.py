"""Tools end to end: suite `tools:` → the real openai and anthropic SDKs → the test server's tool calls → assertions.

Each test writes a pytester project whose one model ``m`` speaks one protocol (``openai`` Chat
Completions or ``anthropic`` Messages) to the ``llm_server`` fixture, and runs pytest in-process.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from llm_server import LLMServer, RecordedRequest, Reply
from provider_project import output_of

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytestmark = pytest.mark.usefixtures("openai_warm", "anthropic_warm")

PROTOCOLS = ("openai", "anthropic")

TOOLS = """
    tools:
      - name: get_weather
        description: Current weather for a city
        parameters: { type: object, properties: { city: { type: string } }, required: [city] }
      - name: get_forecast
        parameters: { type: object, properties: { city: { type: string }, days: { type: integer } } }
"""

WEATHER_SUITE = (
    TOOLS
    + """
    tool_choice: auto
    prompts:
      guided:
        - system: "You are a travel assistant. Use the tools."
        - user: "{{ q }}"
    cases:
      - id: weather-paris
        vars: { q: "What's the weather in Paris?", city: Paris }
        assert:
          - tool_call: { name: get_weather, args: { city: "{{ city }}" } }
          - tool_call: { name: get_weather, args_schema: { required: [city] }, count: 1 }
          - not_tool_call: get_forecast
          - json_path: { path: "$.tool_calls[0].arguments.city", equals: Paris }
"""
)


def write_project(
    pytester: pytest.Pytester, server: LLMServer, protocol: str, suite: str, *, cache: bool = False
) -> None:
    base_url = server.base_url if protocol == "openai" else server.anthropic_base_url
    pytester.makepyprojecttoml(
        "\n".join(
            [
                "[tool.promptcheck]",
                'models = ["m"]',
                'cache = ".promptcheck/cache.sqlite"' if cache else 'cache = "off"',
                "retries = 0",
                "",
                "[tool.promptcheck.model.m]",
                f'provider = "{protocol}"',
                'model = "tool-test"',
                f'base_url = "{base_url}"',
            ]
        )
    )
    pytester.makefile(".prompts.yaml", test_suite=textwrap.dedent(suite))


def calls(*pairs: tuple[str, Any]) -> Any:
    """A responder answering every request with these tool calls."""
    return lambda _request: Reply("", tool_calls=list(pairs))


def sent_tool_names(request: RecordedRequest, protocol: str) -> list[str]:
    if protocol == "openai":
        return [t["function"]["name"] for t in request.tools]
    return [t["name"] for t in request.tools]


# -- passing and failing ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tool_call_case_passes(pytester: pytest.Pytester, llm_server: LLMServer, protocol: str) -> None:
    """A call with the expected name and args passes every tool assertion; the tools reach the wire."""
    llm_server.responder = calls(("get_weather", {"city": "Paris"}))
    write_project(pytester, llm_server, protocol, WEATHER_SUITE)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    (request,) = llm_server.requests
    assert sent_tool_names(request, protocol) == ["get_weather", "get_forecast"]
    if protocol == "openai":
        assert request.tools[0] == {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
        assert request.tool_choice == "auto"
    else:
        assert request.tools[0] == {
            "name": "get_weather",
            "description": "Current weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }
        assert "description" not in request.tools[1]
        assert request.tool_choice == {"type": "auto"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wrong_args_fail_with_a_diff(pytester: pytest.Pytester, llm_server: LLMServer, protocol: str) -> None:
    """Wrong argument values fail naming the key, expected and got, and listing the calls made."""
    llm_server.responder = calls(("get_weather", {"city": "Lyon"}))
    write_project(pytester, llm_server, protocol, WEATHER_SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*tool_call get_weather: args differ: city: expected 'Paris', got 'Lyon' "
            '(calls made: get_weather({"city": "Lyon"}))*',
            "*at $.tool_calls?0?.arguments.city: expected 'Paris', got 'Lyon'*",
            '*tool calls: get_weather({"city": "Lyon"})*',
        ]
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_missing_and_forbidden_calls_fail(pytester: pytest.Pytester, llm_server: LLMServer, protocol: str) -> None:
    """Only a forbidden call: the expected call is missing and not_tool_call fails naming what was called."""
    llm_server.responder = calls(("get_forecast", {"city": "Paris", "days": 3}))
    write_project(pytester, llm_server, protocol, WEATHER_SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            '*tool_call get_weather: no call to get_weather (calls made: get_forecast({"city": "Paris", "days": 3}))*',
            '*not_tool_call get_forecast: called get_forecast({"city": "Paris", "days": 3})*',
        ]
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_malformed_arguments_fail_clearly(pytester: pytest.Pytester, llm_server: LLMServer, protocol: str) -> None:
    """Arguments that are not a JSON object are an assertion failure naming the raw text, not a crash."""
    # OpenAI sends argument text; Anthropic's `input` must be an object, so a string stands for broken input.
    raw = '{"city": Par' if protocol == "openai" else "Par"
    llm_server.responder = calls(("get_weather", raw))
    write_project(pytester, llm_server, protocol, WEATHER_SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    shown = "'{\"city\": Par'" if protocol == "openai" else "'\"Par\"'"
    result.stdout.fnmatch_lines([f"*tool_call get_weather: malformed arguments, arguments are *: raw text {shown}*"])
    assert "Traceback" not in output_of(result)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_no_tool_calls_and_text_answers(pytester: pytest.Pytester, llm_server: LLMServer, protocol: str) -> None:
    """A text answer passes no_tool_calls; a call fails it; `not:` and `weight: 0` modifiers still apply."""
    llm_server.responder = lambda r: (
        Reply("hello there") if "hi" in r.last_user else Reply("", tool_calls=[("get_weather", {"city": "Oslo"})])
    )
    suite = (
        TOOLS
        + """
    prompts:
      p: "{{ q }}"
    cases:
      - id: small-talk
        vars: { q: hi }
        assert: [ no_tool_calls, { contains: hello } ]
      - id: called
        vars: { q: "weather in Oslo" }
        assert:
          - no_tool_calls: true
      - id: negated
        vars: { q: "weather in Oslo" }
        assert:
          - tool_call: { name: get_weather, args: { city: Paris } }
            not: true
          - tool_call: get_forecast
            weight: 0
"""
    )
    write_project(pytester, llm_server, protocol, suite)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(['*no_tool_calls: calls made: get_weather({"city": "Oslo"})*'])
    for request in llm_server.requests:
        assert "tool_choice" not in request.body  # none set: the API's default


# -- tool_choice on the wire -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "openai_wire", "anthropic_wire"),
    [
        ("required", "required", {"type": "any"}),
        ("none", "none", {"type": "none"}),
        (
            "{name: get_forecast}",
            {"type": "function", "function": {"name": "get_forecast"}},
            {"type": "tool", "name": "get_forecast"},
        ),
    ],
)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tool_choice_reaches_the_wire(
    pytester: pytest.Pytester, llm_server: LLMServer, protocol: str, choice: str, openai_wire: Any, anthropic_wire: Any
) -> None:
    """Each tool_choice is sent in the protocol's own spelling; a case's choice overrides the suite's."""
    suite = (
        TOOLS
        + f"""
    tool_choice: auto
    prompts:
      p: "go"
    cases:
      - id: c
        tool_choice: {choice}
"""
    )
    write_project(pytester, llm_server, protocol, suite)
    pytester.runpytest().assert_outcomes(passed=1)
    (request,) = llm_server.requests
    assert request.tool_choice == (openai_wire if protocol == "openai" else anthropic_wire)


# -- history with tool calls and results ------------------------------------------------------------


def test_tool_history_translates_per_protocol() -> None:
    """Neutral assistant tool calls and tool results become each protocol's messages; results merge."""
    from pytest_promptcheck.providers._tool_wire import openai_message
    from pytest_promptcheck.providers.anthropic import _to_messages

    history = [
        {"role": "user", "content": "weather in Oslo and Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
            {"id": "c2", "name": "get_weather", "arguments": '{"city": "Paris"}'}]},
        {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": '{"temp": 20}'},
        {"role": "tool", "tool_call_id": "c2", "name": "get_weather", "content": '{"temp": 25}'},
    ]  # fmt: skip
    assert [openai_message(m) for m in history][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
            {"id": "c2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 20}'},
        {"role": "tool", "tool_call_id": "c2", "content": '{"temp": 25}'},
    ]  # fmt: skip
    system, turns = _to_messages(history, "m")
    assert system == ""
    assert turns[1:] == [
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "c1", "name": "get_weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "c2", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "c1", "content": '{"temp": 20}'},
            {"type": "tool_result", "tool_use_id": "c2", "content": '{"temp": 25}'}]},
    ]  # fmt: skip


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_history_reaches_the_server_valid(llm_server: LLMServer, protocol: str, tmp_path: Path) -> None:
    """A request whose history holds tool calls and results is accepted by each route (real SDK)."""
    import asyncio

    from pytest_promptcheck.config import ProjectConfig
    from pytest_promptcheck.config_models import ModelConfig
    from pytest_promptcheck.providers import anthropic, openai
    from pytest_promptcheck.providers.base import ModelRequest, ProviderContext

    base_url = llm_server.base_url if protocol == "openai" else llm_server.anthropic_base_url
    model = ModelConfig("m", protocol, model="tool-test", base_url=base_url)
    module = openai if protocol == "openai" else anthropic
    provider = module.create(model, ProviderContext(ProjectConfig(root=tmp_path), tmp_path))
    history = (
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "get_weather", "arguments": "{}"}]},
        {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "sunny"},
    )
    llm_server.responder = lambda r: "it is sunny"

    async def run() -> Any:
        try:
            return await provider.complete(ModelRequest(history, tools=({"name": "get_weather"},)))
        finally:
            await provider.aclose()

    completion = asyncio.run(run())
    assert completion.output == "it is sunny"
    assert completion.tool_calls == ()
    (request,) = llm_server.requests
    assert request.status == 200
    if protocol == "openai":
        assert [m["role"] for m in request.messages] == ["user", "assistant", "tool"]
    else:
        assert [m["role"] for m in request.messages] == ["user", "assistant", "user"]
        assert request.messages[2]["content"][0]["type"] == "tool_result"


# -- cache ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cache_keeps_tool_calls_and_a_changed_tool_misses(
    pytester: pytest.Pytester, llm_server: LLMServer, protocol: str
) -> None:
    """A cached answer restores its tool calls; changing a tool's description is a new call."""
    llm_server.responder = calls(("get_weather", {"city": "Paris"}))
    write_project(pytester, llm_server, protocol, WEATHER_SUITE, cache=True)
    pytester.runpytest().assert_outcomes(passed=1)
    llm_server.responder = calls(("get_weather", {"city": "Lyon"}))  # a live call would now fail
    pytester.runpytest().assert_outcomes(passed=1)
    assert llm_server.request_count == 1
    changed = WEATHER_SUITE.replace("Current weather for a city", "Weather now, for one city")
    write_project(pytester, llm_server, protocol, changed, cache=True)
    pytester.runpytest().assert_outcomes(failed=1)
    assert llm_server.request_count == 2


def test_cache_file_of_version_1_stays_readable(pytester: pytest.Pytester) -> None:
    """A cache written before the tool_calls column gets it on open; its old rows still answer."""
    import sqlite3

    from pytest_promptcheck.providers.base import Completion, ToolCall
    from pytest_promptcheck.stores.response_cache import ResponseCache

    path = pytester.path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE responses (key TEXT PRIMARY KEY, output TEXT NOT NULL, finish_reason TEXT, input_tokens INTEGER,"
        " output_tokens INTEGER, latency_ms REAL, served_model TEXT, created REAL NOT NULL);"
        "INSERT INTO responses VALUES ('old', 'hello', 'stop', 1, 2, 3.0, 'm', 0); PRAGMA user_version=1;"
    )
    db.close()
    cache = ResponseCache.open(path)
    old = cache.get("old")
    assert old is not None and (old.output, old.tool_calls) == ("hello", ())
    call = ToolCall("get_weather", '{"city": "Paris"}', {"city": "Paris"}, "c1")
    cache.put("new", Completion("", "tool_calls", tool_calls=(call,)))
    new = cache.get("new")
    assert new is not None and new.tool_calls == (call,)
    cache.close()


def test_cassette_records_and_replays_tool_calls(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """--pc-record stores the calls in the cassette; --pc-replay answers with them, no server needed."""
    llm_server.responder = calls(("get_weather", {"city": "Paris"}))
    write_project(pytester, llm_server, "openai", WEATHER_SUITE)
    pytester.runpytest("--pc-record").assert_outcomes(passed=1)
    (entry,) = [
        json.loads(line)
        for line in (pytester.path / "cassettes" / "test_suite.cassette.jsonl").read_text().splitlines()
    ]
    assert entry["tool_calls"][0]["name"] == "get_weather"
    llm_server.responder = calls(("get_weather", {"city": "Lyon"}))
    pytester.runpytest("--pc-replay").assert_outcomes(passed=1)
    assert llm_server.request_count == 1
    changed = WEATHER_SUITE.replace("Current weather for a city", "Weather now, for one city")
    write_project(pytester, llm_server, "openai", changed)
    result = pytester.runpytest("--pc-replay")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no recorded answer for case 'weather-paris'*", "*the tools or tool_choice differ*"])
