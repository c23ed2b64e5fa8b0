"""``api = "responses"`` on an openai model: ``POST /v1/responses`` through the real openai SDK client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llm_server import LLMServer, RecordedRequest, Reply
from provider_project import ECHO_SUITE, USAGE_SUITE, output_of, write_provider_project

pytest.importorskip("openai")
pytestmark = pytest.mark.usefixtures("openai_warm")

TOOL_SUITE = """
    prompts:
      guided:
        - system: "You are a travel assistant."
        - user: "{{ q }}"
    cases:
      - id: weather
        vars: { q: "What's the weather in Paris?" }
        params: { max_tokens: 50, response_format: { type: json_schema, json_schema: { name: w, schema: { type: object } } } }
        assert: [ { finish_reason: tool_calls } ]
"""


def _project(pytester: pytest.Pytester, server: LLMServer, suite: str, api: str = "responses") -> None:
    write_provider_project(
        pytester, name="gpt", provider="openai", model_id="gpt-test", base_url=server.base_url, suite=suite,
        api_key_env=None, model_lines=f'api = "{api}"', top_lines='runs = ".promptcheck/runs"',
    )  # fmt: skip


def _calls(root: Path) -> list[dict[str, Any]]:
    (folder,) = sorted((root / ".promptcheck" / "runs").iterdir())
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


def test_text_cases_pass_and_fail_on_the_responses_api(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """The same echo cases as Chat Completions: the body is a Responses body, the text is output_text."""
    _project(pytester, llm_server, ECHO_SUITE)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*good?gpt? PASSED*", "*bad?gpt? FAILED*", "*contains 'refund'*"])
    for request in llm_server.requests:
        assert request.path == "/v1/responses"
        assert request.body["input"] == [{"role": "user", "content": request.last_user}]
        assert "messages" not in request.body and "seed" not in request.body


def test_usage_and_finish_reason_on_the_responses_api(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """input/output tokens and an incomplete response (max_output_tokens → length) reach the assertions."""
    llm_server.responder = lambda r: Reply("x", finish_reason="length", prompt_tokens=12, completion_tokens=34)
    _project(pytester, llm_server, USAGE_SUITE)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*ok?gpt? PASSED*", "*too-long?gpt? FAILED*", "*cut-off?gpt? FAILED*"])


@pytest.mark.parametrize("stream", [False, True])
def test_function_call_items_become_tool_calls(pytester: pytest.Pytester, llm_server: LLMServer, stream: bool) -> None:
    """A ``function_call`` output item is a tool call in the record (streamed or not); instructions, tools,
    tool_choice-free body, max_output_tokens and text.format are what the Responses API expects."""

    def answer(request: RecordedRequest) -> Reply:
        return Reply("", tool_calls=({"name": "get_weather", "arguments": '{"city": "Paris"}', "id": "call_9"},))

    llm_server.responder = answer
    suite = TOOL_SUITE.replace("max_tokens: 50,", "max_tokens: 50, stream: true," if stream else "max_tokens: 50,")
    _project(pytester, llm_server, suite)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    body = llm_server.requests[0].body
    assert body["instructions"] == "You are a travel assistant."
    assert body["input"] == [{"role": "user", "content": "What's the weather in Paris?"}]
    assert body["max_output_tokens"] == 50 and "max_tokens" not in body
    assert body["text"] == {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}}}
    assert body.get("stream", False) is stream
    (call,) = _calls(pytester.path)[0]["tool_calls"]
    assert call["name"] == "get_weather" and call["arguments"] == {"city": "Paris"} and call["id"] == "call_9"
    if stream:
        assert _calls(pytester.path)[0]["ttft_ms"] is not None


def test_streamed_responses_record_ttft(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """A streamed Responses call: text from the final event, TTFT at the first delta (after the delay)."""
    llm_server.responder = lambda r: Reply("hello there", first_token_delay=0.3)
    suite = """
        prompts:
          p: "hi"
        cases:
          - id: c
            params: { stream: true }
            assert: [ { equals: "hello there" }, { ttft_ms: { min: 300, max: 60000 } }, { tokens: { max: 2 } } ]
    """
    _project(pytester, llm_server, suite)
    pytester.runpytest("-v").assert_outcomes(passed=1)


def test_tools_and_tool_messages_in_responses_form() -> None:
    """Tools go flat with ``type: function``; an assistant's tool calls and a tool result become
    ``function_call`` / ``function_call_output`` items; ``tool_choice: {name}`` is typed."""
    from pytest_promptcheck.providers import openai_responses
    from pytest_promptcheck.providers.base import ModelRequest

    messages = (
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "name": "get_weather", "arguments": "{}"}]},
        {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": '{"temp": 20}'},
    )
    tools = ({"name": "get_weather", "parameters": {"type": "object"}},)
    request = ModelRequest(messages, {"seed": 3}, tools=tools, tool_choice={"name": "get_weather"})
    body = openai_responses.body("m", request, stream=False)
    assert body["input"][1:] == [
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": '{"temp": 20}'},
    ]
    assert body["tools"] == [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    assert body["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert "seed" not in body


@pytest.mark.parametrize(("api", "provider", "message"), [
    ("completions", "openai", "api = 'completions'; `api` is for openai models: one of 'chat', 'responses'"),
    ("responses", "anthropic", "api = 'responses' (provider 'anthropic'); `api` is for openai models"),
])  # fmt: skip
def test_unknown_api_is_a_config_error(pytester: pytest.Pytester, api: str, provider: str, message: str) -> None:
    """A wrong ``api`` names the key, the value and the choices."""
    write_provider_project(
        pytester, name="gpt", provider=provider, model_id="gpt-test", base_url="http://127.0.0.1:9", suite=ECHO_SUITE,
        api_key_env=None, model_lines=f'api = "{api}"',
    )  # fmt: skip
    result = pytester.runpytest()
    assert result.ret != 0
    assert message in output_of(result)
