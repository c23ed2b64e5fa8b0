"""Multi-turn cases through the real openai and anthropic SDK clients against the tests' server: the
history (the model's own earlier replies) reaches the wire in each protocol, and a failure names its turn."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_server import LLMServer, RecordedRequest, Reply, content_text
from provider_project import output_of, write_provider_project

KEY_ENV = "PC_TEST_TURNS_KEY"

CHAT = """
    prompts:
      p:
        - system: "You are terse."
    cases:
      - id: chat
        vars: { who: Ann }
        turns:
          - user: "hello {{ who }}"
            assert: [ { contains: "reply 1" } ]
          - user: "and again"
            assert: [ { contains: "reply 2" } ]
          - user: "bye"
            assert: [ { contains: "reply 3" } ]
"""


def counting(request: RecordedRequest) -> str:
    """'reply N' where N counts the user messages sent so far: each turn's answer differs."""
    return f"reply {sum(1 for m in request.messages if m.get('role') == 'user')}: {request.last_user}"


def _project(pytester: pytest.Pytester, server: LLMServer, provider: str, suite: str) -> None:
    base_url = server.base_url if provider == "openai" else server.anthropic_base_url
    write_provider_project(pytester, name="m", provider=provider, model_id=f"{provider}-test", base_url=base_url,
                           suite=suite, api_key_env=KEY_ENV, top_lines="retries = 0")  # fmt: skip


def _wire(request: RecordedRequest) -> list[tuple[str, str]]:
    return [(str(m.get("role")), content_text(m.get("content"))) for m in request.messages]


@pytest.fixture
def sdk(provider: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip(provider)
    request.getfixturevalue(f"{provider}_warm")  # see server_fixtures.openai_warm
    monkeypatch.setenv(KEY_ENV, "sk-test-turns")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.usefixtures("sdk")
def test_three_user_turns_send_the_history(pytester: pytest.Pytester, llm_server: LLMServer, provider: str) -> None:
    """Three turns, three requests: each carries the earlier turns and the model's replies to them."""
    llm_server.responder = counting
    _project(pytester, llm_server, provider, CHAT)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert llm_server.request_count == 3
    last: Any = llm_server.requests[-1]
    history = [
        ("user", "hello Ann"),
        ("assistant", "reply 1: hello Ann"),
        ("user", "and again"),
        ("assistant", "reply 2: and again"),
        ("user", "bye"),
    ]
    assert _wire(last)[-5:] == history
    if provider == "anthropic":
        assert last.system == "You are terse."


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.usefixtures("sdk")
def test_a_failing_turn_is_named(pytester: pytest.Pytester, llm_server: LLMServer, provider: str) -> None:
    """Turn 2's assertion fails: the failure names turn 2; turn 3 still ran."""
    llm_server.responder = counting
    _project(pytester, llm_server, provider, CHAT.replace('contains: "reply 2"', 'contains: "reply 9"'))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert "1 of 3 turns failed; first turn 2 (user): contains 'reply 9' failed" in output_of(result)
    assert llm_server.request_count == 3


TRIP = """
    tools:
      - name: get_weather
        description: Current weather for a city
        parameters: { type: object, properties: { city: { type: string } }, required: [city] }
      - name: get_forecast
        parameters: { type: object, properties: { city: { type: string }, days: { type: integer } } }
    prompts:
      guided:
        - system: "You are a travel assistant. Use the tools."
    cases:
      - id: trip
        vars: { city: Oslo }
        turns:
          - user: "What's the weather in {{ city }}?"
            assert: [ { tool_call: { name: get_weather, args: { city: "{{ city }}" } } } ]
          - tool_results: { get_weather: '{"temp": 20}' }
            assert: [ { contains: "20" } ]
          - user: "And the next three days?"
            assert: [ { tool_call: { name: get_forecast, args: { days: 3 } } } ]
"""


def _tool_result(request: RecordedRequest) -> str | None:
    """The tool result the last message carries, in either protocol (None: it carries none)."""
    last = request.messages[-1] if request.messages else {}
    if last.get("role") == "tool":
        return content_text(last.get("content"))
    blocks = last.get("content") if isinstance(last.get("content"), list) else []
    results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
    return content_text(results[-1].get("content")) if results else None


def travel_agent(request: RecordedRequest) -> Reply:
    """Calls get_weather on the question, answers from the tool's result, calls get_forecast for days."""
    result = _tool_result(request)
    if result is not None:
        return Reply(f"It is {json.loads(result)['temp']} degrees in Oslo.")
    if "next three days" in request.last_user:
        return Reply("", tool_calls=[("get_forecast", {"city": "Oslo", "days": 3})])
    return Reply("", tool_calls=[("get_weather", {"city": "Oslo"})])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.usefixtures("sdk")
def test_three_turns_with_a_tool_result(pytester: pytest.Pytester, llm_server: LLMServer, provider: str) -> None:
    """The tool call, its result sent back in the protocol's form, then the next question: all pass."""
    llm_server.responder = travel_agent
    _project(pytester, llm_server, provider, TRIP)
    pytester.runpytest().assert_outcomes(passed=1)
    assert llm_server.request_count == 3
    second = llm_server.requests[1].messages
    if provider == "openai":
        call_id = second[-2]["tool_calls"][0]["id"]
        assert second[-2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
        assert second[-1] == {"role": "tool", "tool_call_id": call_id, "content": '{"temp": 20}'}
    else:
        (use,) = [b for b in second[-2]["content"] if b["type"] == "tool_use"]
        assert (use["name"], use["input"]) == ("get_weather", {"city": "Oslo"})
        (result,) = second[-1]["content"]
        assert result["type"] == "tool_result" and result["tool_use_id"] == use["id"]
    third = llm_server.requests[2].messages
    assert content_text(third[-2]["content"]) == "It is 20 degrees in Oslo."
    assert content_text(third[-1]["content"]) == "And the next three days?"


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.usefixtures("sdk")
def test_a_failing_tool_result_turn_is_named(pytester: pytest.Pytester, llm_server: LLMServer, provider: str) -> None:
    """contains '21' fails on the tool-result turn: the failure names turn 2, turn 3 still runs."""
    llm_server.responder = travel_agent
    _project(pytester, llm_server, provider, TRIP.replace('contains: "20"', 'contains: "21"'))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = output_of(result)
    assert "1 of 3 turns failed; first turn 2 (tool_results get_weather): contains '21' failed" in out
    assert "- turn 2 (tool_results get_weather) (sample 0):" in out
    assert llm_server.request_count == 3
