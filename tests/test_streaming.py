"""Streaming (``params: {stream: true}``) through the real openai and anthropic SDKs: SSE from the test
server, the same Completion as a plain call, time to first token in the record and ``ttft_ms``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from llm_server import LLMServer, RecordedRequest, Reply
from provider_project import output_of, write_provider_project

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytestmark = pytest.mark.usefixtures("openai_warm", "anthropic_warm")

# Generous bounds a loaded machine cannot miss: no delay vs max 5000 ms passes; a 1.5 s delay fails max 1000.
STREAM_SUITE = """
    prompts:
      p: "{{ reply }}"
    cases:
      - id: quick
        params: { stream: true }
        vars: { reply: "refund issued today" }
        assert:
          - contains: "refund issued today"
          - ttft_ms: { max: 5000 }
          - tokens: { kind: output, min: 3, max: 3 }
          - finish_reason: stop
      - id: slow
        params: { stream: true }
        vars: { reply: "slow answer" }
        assert: [ { ttft_ms: { max: 1000 } } ]
"""

PROVIDERS = ["openai", "anthropic"]


def _project(pytester: pytest.Pytester, server: LLMServer, provider: str, suite: str, model_lines: str = "") -> None:
    base_url = server.base_url if provider == "openai" else server.anthropic_base_url
    write_provider_project(
        pytester, name="m", provider=provider, model_id="m-test", base_url=base_url, suite=suite,
        api_key_env=None, model_lines=model_lines, top_lines='runs = ".promptcheck/runs"',
    )  # fmt: skip


def _delayed(request: RecordedRequest) -> Reply:
    return Reply(request.last_user, first_token_delay=1.5 if "slow" in request.last_user else 0.0)


def _calls(root: Path) -> dict[str, dict[str, Any]]:
    (folder,) = sorted((root / ".promptcheck" / "runs").iterdir())
    lines = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    return {line["case"]: line for line in lines}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streamed_case_records_ttft_and_ttft_ms_fails_on_a_slow_first_token(
    pytester: pytest.Pytester, llm_server: LLMServer, provider: str
) -> None:
    """A streamed answer is assembled (text, usage, finish reason); TTFT is recorded and asserted."""
    llm_server.responder = _delayed
    _project(pytester, llm_server, provider, STREAM_SUITE)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*quick?m? PASSED*", "*slow?m? FAILED*", "*ttft_ms*", "*ms is not <= 1000*"])
    assert all(r.body["stream"] is True for r in llm_server.requests)
    if provider == "openai":
        assert all(r.body["stream_options"] == {"include_usage": True} for r in llm_server.requests)
    calls = _calls(pytester.path)
    assert calls["quick"]["ttft_ms"] is not None and calls["quick"]["output"] == "refund issued today"
    assert calls["quick"]["usage"]["output_tokens"] == 3
    assert calls["slow"]["ttft_ms"] >= 1500
    assert calls["slow"]["latency_ms"] >= calls["slow"]["ttft_ms"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unstreamed_answer_has_no_ttft_and_the_assertion_says_so(
    pytester: pytest.Pytester, llm_server: LLMServer, provider: str
) -> None:
    """Without ``stream: true`` there is no TTFT: ``ttft_ms`` fails and names the fix instead of passing."""
    suite = """
        prompts:
          p: "hello"
        cases:
          - id: plain
            assert: [ { ttft_ms: { max: 100000 } } ]
    """
    _project(pytester, llm_server, provider, suite)
    result = pytester.runpytest("-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*ttft_ms unknown for this call (the answer was not streamed; set `params: {stream: true}`*"]
    )
    assert "stream" not in llm_server.requests[0].body


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streamed_tool_calls_are_assembled_from_deltas(
    pytester: pytest.Pytester, llm_server: LLMServer, provider: str
) -> None:
    """Tool calls streamed in pieces (openai ``tool_calls`` deltas, anthropic ``input_json_delta``) become
    whole calls with parsed arguments in the record; a tool-call delta counts as the first token."""
    llm_server.responder = lambda r: Reply(
        "",
        finish_reason="tool_calls",
        tool_calls=({"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"},),
    )
    suite = """
        prompts:
          p: "weather?"
        cases:
          - id: weather
            params: { stream: true }
            assert: [ { ttft_ms: { max: 5000 } }, { finish_reason: tool_calls } ]
    """
    _project(pytester, llm_server, provider, suite)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    (call,) = _calls(pytester.path)["weather"]["tool_calls"]
    assert call["name"] == "get_weather" and call["arguments"] == {"city": "Paris"}
    assert json.loads(call["raw_arguments"]) == {"city": "Paris"}


def test_a_cached_answer_has_no_ttft(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """The second run answers from the cache: same output, so ``ttft_ms`` says the answer was stored."""
    suite = """
        prompts:
          p: "hi"
        cases:
          - id: c
            params: { stream: true }
            assert: [ { ttft_ms: { max: 5000 } } ]
    """
    _project(pytester, llm_server, "openai", suite)
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('cache = "off"', 'cache = ".promptcheck/cache.db"'))
    pytester.runpytest().assert_outcomes(passed=1)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*a stored answer (the cache or a cassette) has no time to first token*"])
    assert llm_server.request_count == 1


def test_stream_must_be_a_boolean(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """``stream: "yes"`` is a configuration problem naming the param, not a silent non-stream."""
    suite = """
        prompts:
          p: "hi"
        cases:
          - id: c
            params: { stream: "yes" }
            assert: [ { contains: hi } ]
    """
    _project(pytester, llm_server, "anthropic", suite)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    assert "param 'stream' must be true or false, got 'yes'" in output_of(result)
    assert llm_server.request_count == 0


STREAMING_APP = """
def streamed(messages, params):
    text = messages[-1]["content"]
    return {"output": text, "ttft_ms": 100.0 if "fast" in text else 900.0, "latency_ms": 1000.0}
"""


def test_metrics_report_ttft_percentiles_per_model(pytester: pytest.Pytester) -> None:
    """The summary's latency table gains TTFT p50/p95 columns when calls streamed; `metrics: ttft` bounds them."""
    pytester.makepyfile(app=STREAMING_APP)
    pytester.makepyprojecttoml(
        '[tool.promptcheck]\nmodels = ["m"]\n[tool.promptcheck.model.m]\nprovider = "python"\nfunction = "app:streamed"\n'
    )
    suite = """
        prompts:
          p: "{{ x }}"
        metrics:
          ttft: { p95_ms: 500 }
        cases:
          - { id: a, vars: { x: fast one }, assert: [ { contains: one } ] }
          - { id: b, vars: { x: fast two }, assert: [ { contains: two } ] }
          - { id: c, vars: { x: slow three }, assert: [ { contains: three } ] }
    """
    pytester.makefile(".prompts.yaml", test_suite=textwrap.dedent(suite))
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([
        "model  calls  p50 ms  p95 ms  max ms  ttft p50  ttft p95  tokens in  tokens out  cost",
        "m          3    1000    1000    1000       100       820          -           -     -",
        "*BROKEN test_suite.prompts.yaml: model m: ttft = 820 ms > p95_ms 500 ms",
    ])  # fmt: skip
    assert result.ret != 0  # the threshold is breached


@pytest.mark.parametrize(
    ("provider", "model_lines", "body", "message"),
    [
        ("openai", "", b'data: {"error": {"message": "boom in the middle"}}\n\n',
         "the server reported an error mid-stream: boom in the middle"),
        ("anthropic", "", b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n',
         "the server reported an error mid-stream: overloaded_error: Overloaded"),
        ("openai", 'api = "responses"', b'event: response.created\ndata: {"type": "response.created", "response": {}}\n\n',
         "malformed stream from the server: the stream ended before its response.completed event"),
    ],
    ids=["openai-error-event", "anthropic-error-event", "responses-cut-short"],
)  # fmt: skip
def test_a_broken_stream_is_a_clear_model_error(
    pytester: pytest.Pytester, llm_server: LLMServer, provider: str, model_lines: str, body: bytes, message: str
) -> None:
    """An error event inside a 200 stream, or a stream that ends early, fails the item with the server's words."""
    llm_server.add_fault("malformed", body=body, content_type="text/event-stream")
    suite = """
        prompts:
          p: "hi"
        cases:
          - id: c
            params: { stream: true }
            assert: [ { contains: hi } ]
    """
    _project(pytester, llm_server, provider, suite, model_lines)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    out = output_of(result)
    assert message in out and "Traceback" not in out
