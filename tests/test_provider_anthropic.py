"""The `anthropic` provider end to end: pytest → engine → the real anthropic SDK → a local HTTP server.

Each end-to-end test writes a pytester project whose model ``claude`` (model id ``claude-test``)
points at the ``llm_server`` fixture's Messages API route (tests/llm_server.py) and runs pytest
in-process; the direct tests call the provider itself against the same server. Nothing here leaves
127.0.0.1 and nothing in the SDK is patched.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeAlias

import pytest

from llm_server import LLMServer, RecordedRequest, Reply
from provider_project import ECHO_SUITE, ONE_CASE, TWO_CASES, USAGE_SUITE, output_of, write_provider_project
from pytest_promptcheck.config import ProjectConfig
from pytest_promptcheck.config_models import ModelConfig
from pytest_promptcheck.errors import ConfigError, ProviderError
from pytest_promptcheck.providers.anthropic import DEFAULT_MAX_TOKENS, AnthropicProvider, _to_messages
from pytest_promptcheck.providers.base import Completion, ModelRequest, ProviderContext

pytest.importorskip("anthropic")
pytestmark = pytest.mark.usefixtures("anthropic_warm")  # see server_fixtures.openai_warm

KEY_ENV = "PC_TEST_ANTHROPIC_KEY"
SECRET = "sk-ant-test-Hq4vB9mL2rT6wY1x-secret"  # never to be printed


def write_project(
    pytester: pytest.Pytester,
    base_url: str | None,
    suite: str,
    *,
    api_key_env: str | None = KEY_ENV,
    model_lines: str = "",
) -> None:
    """A project with one anthropic model ``claude`` (model id ``claude-test``) and one suite ``test_suite``."""
    write_provider_project(
        pytester, name="claude", provider="anthropic", model_id="claude-test", base_url=base_url, suite=suite,
        api_key_env=api_key_env, model_lines=model_lines, top_lines="retries = 0",
    )  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials or endpoint from the developer's environment leak into a test."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, SECRET)
    return SECRET


def sent_key(request: RecordedRequest) -> str | None:
    """The key the SDK sent: ``x-api-key``, or a bearer ``authorization`` (recent SDKs)."""
    if "x-api-key" in request.headers:
        return request.headers["x-api-key"]
    auth = request.headers.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


# -- answers and verdicts --------------------------------------------------------------------------


def test_verdicts_from_real_responses(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """The server's answers decide pass and fail; each request is a proper Messages API call."""
    write_project(pytester, llm_server.anthropic_base_url, ECHO_SUITE)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_suite.prompts.yaml::good?claude? PASSED*",
            "*test_suite.prompts.yaml::bad?claude? FAILED*",
            "*contains 'refund'*",
            "*no idea*",
        ]
    )
    requests = llm_server.requests
    assert len(requests) == 2
    for request in requests:
        assert (request.method, request.path, request.status) == ("POST", "/v1/messages", 200)
        assert request.body == {
            "model": "claude-test",
            "max_tokens": DEFAULT_MAX_TOKENS,  # required by the API: our default when params set none
            "messages": [{"role": "user", "content": request.last_user}],
        }  # no system, no seed, no stream
        assert sent_key(request) == api_key
        assert request.headers["anthropic-version"]
    assert {r.last_user for r in requests} == {"refund issued", "no idea"}


def test_system_messages_become_the_system_parameter(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str
) -> None:
    """System messages go to `system` (joined by blank lines); the rest alternate, same roles merged."""

    def triage(request: RecordedRequest) -> str:
        return '{"category": "billing"}' if "charged" in request.last_user else '{"category": "other"}'

    llm_server.responder = triage
    write_project(
        pytester,
        llm_server.anthropic_base_url,
        """
        prompts:
          p:
            - system: "Answer with JSON only."
            - user: "Example: my card was declined"
            - assistant: '{"category": "billing"}'
            - system: "Categories: billing, other."
            - user: "Ticket:"
            - user: "{{ ticket }}"
        cases:
          - id: billing
            vars: { ticket: "I was charged twice" }
            assert: [ is_json, { json_path: { path: "$.category", equals: billing } } ]
          - id: wrong
            vars: { ticket: "The app crashes" }
            assert: [ { json_path: { path: "$.category", equals: billing } } ]
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    bodies = {r.last_user: r.body for r in llm_server.requests}
    body = bodies["Ticket:\n\nI was charged twice"]
    assert body["system"] == "Answer with JSON only.\n\nCategories: billing, other."
    assert body["messages"] == [
        {"role": "user", "content": "Example: my card was declined"},
        {"role": "assistant", "content": '{"category": "billing"}'},
        {"role": "user", "content": "Ticket:\n\nI was charged twice"},
    ]


def test_prompt_starting_with_assistant_is_a_configuration_error(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str
) -> None:
    write_project(
        pytester,
        llm_server.anthropic_base_url,
        """
        prompts:
          p:
            - system: "Be terse."
            - assistant: "Hello!"
            - user: "hi"
        cases:
          - id: c1
            assert: [ { contains: hi } ]
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*configuration problem: model 'claude' (anthropic): *needs a user message before any assistant message*"]
    )
    assert "Traceback" not in output_of(result)
    assert llm_server.request_count == 0


def test_params_pass_through(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """max_new_tokens → max_tokens (the case beats the config), stop → stop_sequences, sampling params
    pass through, unknown params reach the body; no seed is sent, whatever --pc-seed says."""
    write_project(
        pytester,
        llm_server.anthropic_base_url,
        """
        prompts:
          p: "hi"
        cases:
          - id: sampled
            params: { max_new_tokens: 7, top_p: 0.5, top_k: 40, stop: "END", custom_flag: true }
            repeat: 2
            assert: [ { contains: hi } ]
          - id: plain
            assert: [ { contains: hi } ]
        """,
        model_lines="params = { temperature = 0.2, max_new_tokens = 99 }",
    )
    result = pytester.runpytest("--pc-seed", "5")
    result.assert_outcomes(passed=2)
    requests = llm_server.requests
    assert len(requests) == 3
    sampled = [r.body for r in requests if "top_k" in r.body]
    assert len(sampled) == 2
    for body in sampled:
        assert body["max_tokens"] == 7 and "max_new_tokens" not in body
        assert (body["temperature"], body["top_p"], body["top_k"]) == (0.2, 0.5, 40)
        assert body["stop_sequences"] == ["END"] and "stop" not in body
        assert body["custom_flag"] is True
    (plain,) = [r.body for r in requests if "top_k" not in r.body]
    assert plain == {
        "model": "claude-test",
        "max_tokens": 99,
        "temperature": 0.2,
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert all("seed" not in r.body for r in requests)


def test_usage_and_stop_reason_reach_assertions(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """input/output tokens feed `tokens`; stop_reason max_tokens is finish_reason `length`."""
    llm_server.responder = lambda request: Reply(
        "truncated answ", finish_reason="length", prompt_tokens=12, completion_tokens=34
    )
    write_project(pytester, llm_server.anthropic_base_url, USAGE_SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    assert "46 tokens is not <= 40" in text
    assert "finish_reason 'length' not in ['stop']" in text
    assert all(r.body["messages"] for r in llm_server.requests)


# -- failures of the call are errors, not failures -------------------------------------------------


def test_http_errors_are_errors_with_one_request_per_call(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str
) -> None:
    """500, 529 (overloaded) and 429: item errors naming provider, model, status and the server's
    message (with its error type); the SDK retries nothing."""
    llm_server.add_fault("status", status=500, match="hello s500")
    llm_server.add_fault("status", status=529, message="Overloaded", match="hello s529")
    llm_server.add_fault("status", status=429, retry_after=2, message="Rate limit exceeded", match="hello s429")
    cases = "".join(
        f"\n  - id: {name}\n    vars: {{ who: {name} }}\n    assert: [ {{ contains: hello }} ]\n"
        for name in ("s500", "s529", "s429")
    )
    write_project(pytester, llm_server.anthropic_base_url, 'prompts:\n  p: "hello {{ who }}"\ncases:' + cases)
    result = pytester.runpytest()
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of*s500*",
            "*model claude (anthropic:claude-test)*",
            "*model call failed: anthropic model 'claude' (HTTP 500): api_error: injected HTTP 500 (test server)",
            "*model call failed: anthropic model 'claude' (HTTP 529): overloaded_error: Overloaded",
            "*model call failed: anthropic model 'claude' (HTTP 429): rate_limit_error: Rate limit exceeded",
        ],
        consecutive=False,
    )
    assert "Traceback" not in output_of(result)
    assert sorted(r.status or 0 for r in llm_server.requests) == [429, 500, 529]  # one request per call


def test_timeout_is_an_error(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    llm_server.add_fault("slow", delay=3)
    write_project(pytester, llm_server.anthropic_base_url, ONE_CASE)
    result = pytester.runpytest("--pc-timeout", "0.3")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*anthropic model 'claude': no response within 0.3 s (timeout)*"])
    assert llm_server.request_count == 1


def test_malformed_json_is_a_clear_error(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    llm_server.add_fault("malformed", body=b'{"id": "msg_broken", "type": "message", "content": [{"ty')
    write_project(pytester, llm_server.anthropic_base_url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*anthropic model 'claude': malformed response from the server: the body is not valid JSON*"]
    )
    text = output_of(result)
    assert "Traceback" not in text and "site-packages" not in text and "_base_client" not in text
    assert llm_server.request_count == 1


def test_dropped_connection_is_a_connection_error(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str
) -> None:
    llm_server.add_fault("drop")
    write_project(pytester, llm_server.anthropic_base_url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*anthropic model 'claude': connection to {llm_server.url} failed: *disconnected*"])
    assert llm_server.request_count == 1


# -- credentials -----------------------------------------------------------------------------------


def test_missing_default_key_names_anthropic_api_key(pytester: pytest.Pytester) -> None:
    write_project(pytester, None, ONE_CASE, api_key_env=None)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*configuration problem: model 'claude' (anthropic) needs an API key: export ANTHROPIC_API_KEY=*"]
    )
    assert "Traceback" not in output_of(result)


def test_api_key_never_printed(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """Passes, failures and errors, verbose, with locals and debug logs: the key is not in any output."""
    llm_server.add_fault("status", status=401, message="invalid x-api-key", match="hello two")
    write_project(
        pytester,
        llm_server.anthropic_base_url,
        TWO_CASES
        + """
      - id: c3
        vars: { who: three }
        assert: [ { contains: nope } ]
""",
    )
    result = pytester.runpytest("-vv", "-rA", "-l", "--tb=long", "--log-level=DEBUG", "--pc-timeout", "5")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*anthropic model 'claude' (HTTP 401): authentication_error: invalid x-api-key*"])
    assert all(sent_key(r) == api_key for r in llm_server.requests)  # it was used
    text = output_of(result)
    assert api_key not in text and api_key[-12:] not in text
    for path in Path(pytester.path).rglob("*"):  # nor in anything the run wrote (records, caches)
        if path.is_file():
            assert api_key.encode() not in path.read_bytes(), path


def test_which_key_is_sent(llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """No key and a localhost base_url: a placeholder; else ANTHROPIC_API_KEY, or what api_key_env names."""
    url = llm_server.anthropic_base_url
    _run(_provider(url), _request())
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-default-env")
    monkeypatch.setenv(KEY_ENV, "from-named-env")
    _run(_provider(url), _request())
    _run(_provider(url, api_key_env=KEY_ENV), _request())
    assert [sent_key(r) for r in llm_server.requests] == ["not-needed", "from-default-env", "from-named-env"]


def test_missing_key_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any explicit base_url goes without a key (as for openai; a proxy that wants one takes api_key_env),
    unless an api_key_env is named; Anthropic's own API needs one."""
    for base_url in ("http://127.0.0.1:9", "http://localhost:8080", "http://[::1]:8080", "https://gateway.example.com"):
        assert _provider(base_url).client.api_key == "not-needed"
    with pytest.raises(ConfigError, match=r"needs an API key: export ANTHROPIC_API_KEY=.*base_url"):
        _provider(None)
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"model 'claude' \\(anthropic\\) needs an API key: export {KEY_ENV}=...$"):
        _provider("http://127.0.0.1:9", api_key_env=KEY_ENV)


def test_model_id_is_required() -> None:
    config = ModelConfig(name="claude", provider="anthropic", base_url="http://127.0.0.1:9")
    with pytest.raises(ConfigError, match="model 'claude' \\(anthropic\\): set `model"):
        AnthropicProvider(config, ProviderContext(ProjectConfig(root=Path.cwd()), Path.cwd()))


# -- the provider on its own (same SDK, same server): what the engine relies on ---------------------

Result: TypeAlias = Completion | ProviderError


def _provider(base_url: str | None, **model: Any) -> AnthropicProvider:
    config = ModelConfig(name="claude", provider="anthropic", model="claude-test", base_url=base_url, **model)
    return AnthropicProvider(config, ProviderContext(ProjectConfig(root=Path.cwd()), Path.cwd()))


def _request(text: str = "hi", *, timeout: float = 5.0, **params: Any) -> ModelRequest:
    return ModelRequest(({"role": "user", "content": text},), params, timeout=timeout, seed=3)


def _run(provider: AnthropicProvider, *requests: ModelRequest) -> list[Result]:
    """Make the calls one after another on one event loop; a ProviderError is returned, not raised."""

    async def run() -> list[Result]:
        results: list[Result] = []
        try:
            for request in requests:
                try:
                    results.append(await provider.complete(request))
                except ProviderError as exc:
                    results.append(exc)
        finally:
            await provider.aclose()
        return results

    return asyncio.run(run())


def test_retryable_classification(llm_server: LLMServer) -> None:
    """What the engine retries: 408, 409, 429, 5xx (529 overloaded too), timeouts, dropped connections."""
    cases: list[tuple[str, dict[str, Any], int | None, bool]] = [
        ("status", {"status": 500}, 500, True),
        ("status", {"status": 529}, 529, True),
        ("status", {"status": 503}, 503, True),
        ("status", {"status": 429}, 429, True),
        ("status", {"status": 408}, 408, True),
        ("status", {"status": 409}, 409, True),
        ("status", {"status": 400}, 400, False),
        ("status", {"status": 401}, 401, False),
        ("status", {"status": 404}, 404, False),
        ("slow", {"delay": 2}, None, True),
        ("drop", {}, None, True),
        ("malformed", {}, None, False),
    ]
    for i, (kind, options, *_) in enumerate(cases):
        llm_server.add_fault(kind, match=f"case {i}.", **options)  # type: ignore[arg-type]
    results = _run(
        _provider(llm_server.anthropic_base_url), *(_request(f"case {i}.", timeout=0.3) for i in range(len(cases)))
    )
    got = [(r.provider, r.model, r.status, r.retryable) if isinstance(r, ProviderError) else r for r in results]
    assert got == [("anthropic", "claude", status, retryable) for *_, status, retryable in cases]
    assert llm_server.request_count == len(cases)  # one request per call


def test_retry_after_reaches_the_provider_error(llm_server: LLMServer) -> None:
    past = datetime(2000, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    llm_server.add_fault("status", status=429, retry_after=7, match="a")
    llm_server.add_fault("status", status=529, retry_after_ms=1500, match="b")
    llm_server.add_fault("status", status=429, retry_after=past, match="c")  # a date in the past: retry now
    llm_server.add_fault("status", status=429, match="d")
    results = _run(_provider(llm_server.anthropic_base_url), *map(_request, "abcd"))
    errors = [r for r in results if isinstance(r, ProviderError)]
    assert [e.retry_after for e in errors] == [7.0, 1.5, 0.0, None]
    headers = [e.headers for e in errors]  # type: ignore[attr-defined]
    assert (headers[0]["retry-after"], headers[1]["retry-after-ms"]) == ("7", "1500")
    assert headers[2]["retry-after"] == "Sun, 02 Jan 2000 03:04:05 GMT"


def test_stop_reason_to_finish_reason(llm_server: LLMServer) -> None:
    replies = {
        "end_turn": (Reply("a"), "stop"),
        "stop_sequence": (Reply("a", finish_reason="stop_sequence", stop_sequence="END"), "stop"),
        "max_tokens": (Reply("a", finish_reason="length"), "length"),
        "tool_use": (Reply("a", finish_reason="tool_calls"), "tool_calls"),
        "refusal": (Reply("a", finish_reason="content_filter"), "content_filter"),
        "pause_turn": (Reply("a", finish_reason="pause_turn"), "pause_turn"),  # others as they are
    }
    llm_server.responder = lambda request: replies[request.last_user][0]
    results = _run(_provider(llm_server.anthropic_base_url), *map(_request, replies))
    assert [r.finish_reason if isinstance(r, Completion) else r for r in results] == [
        finish for _, finish in replies.values()
    ]


def test_served_model_usage_and_text_blocks(llm_server: LLMServer) -> None:
    llm_server.responder = lambda request: Reply(
        "ok", model="claude-test-20260101", prompt_tokens=3, completion_tokens=1
    )
    llm_server.add_fault(
        "malformed",
        match="blocks",
        body=b'{"id": "m", "type": "message", "role": "assistant", "model": "claude-test", "stop_reason": "end_turn",'
        b' "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"}, {"type": "text", "text": "one "},'
        b' {"type": "tool_use", "id": "t", "name": "f", "input": {}}, {"type": "text", "text": "two"}]}',
    )  # a valid message with several kinds of blocks and no usage
    plain, blocks = _run(_provider(llm_server.anthropic_base_url), _request(), _request("blocks"))
    assert isinstance(plain, Completion) and isinstance(blocks, Completion)
    assert (plain.output, plain.served_model) == ("ok", "claude-test-20260101")
    assert (plain.usage.input_tokens, plain.usage.output_tokens) == (3, 1)
    assert blocks.output == "one two"  # the text blocks, in order
    assert (blocks.usage.input_tokens, blocks.usage.output_tokens) == (None, None)


def test_non_message_bodies_are_malformed(llm_server: LLMServer) -> None:
    llm_server.add_fault("malformed", body=b'{"hello": "world"}', match="json")
    llm_server.add_fault("malformed", body=b"<html>captive portal</html>", content_type="text/html", match="html")
    results = _run(_provider(llm_server.anthropic_base_url), _request("json"), _request("html"))
    expected = ["expected a message object, got no content list", "a non-JSON body '<html>captive portal</html>'"]
    for result, words in zip(results, expected):
        assert isinstance(result, ProviderError)
        assert "malformed response from the server" in result.detail and words in result.detail
        assert (result.status, result.retryable) == (None, False)


def test_max_tokens_and_params_mapping(llm_server: LLMServer) -> None:
    _run(
        _provider(llm_server.anthropic_base_url),
        _request(),
        _request(max_tokens=5, temperature=0.0),
        _request(max_new_tokens=6, stop=["A", "B"], seed=1, extra_body={"metadata_x": 1}),
        _request(max_tokens=5, max_new_tokens=9),  # the later wins (a case's keys come after the config's)
    )
    bodies = [r.body for r in llm_server.requests]
    assert [b["max_tokens"] for b in bodies] == [DEFAULT_MAX_TOKENS, 5, 6, 9]
    assert bodies[1]["temperature"] == 0.0
    assert bodies[2]["stop_sequences"] == ["A", "B"] and bodies[2]["metadata_x"] == 1
    assert all("seed" not in b and "max_new_tokens" not in b and "stop" not in b for b in bodies)


def test_reserved_params_are_configuration_errors(llm_server: LLMServer) -> None:
    provider = _provider(llm_server.anthropic_base_url)
    for key in ("system", "messages", "model"):  # stream is a switch: tests/test_streaming.py
        with pytest.raises(ConfigError, match=f"model 'claude' \\(anthropic\\): params cannot set '{key}'"):
            _run(provider, ModelRequest(({"role": "user", "content": "hi"},), {key: "x"}))
    assert llm_server.request_count == 0


def test_bad_stop_and_null_params(llm_server: LLMServer) -> None:
    provider = _provider(llm_server.anthropic_base_url)
    with pytest.raises(ConfigError, match="param 'stop' must be a string or a list of strings, got 5"):
        _run(provider, _request(stop=5))
    _run(_provider(llm_server.anthropic_base_url), _request(max_tokens=None, stop=None, temperature=None))
    (request,) = llm_server.requests  # null means "not set": the default max_tokens, nothing else
    assert {k: v for k, v in request.body.items() if k != "messages"} == {"model": "claude-test", "max_tokens": 1024}


# -- message mapping -------------------------------------------------------------------------------


def _m(*pairs: tuple[str, str]) -> tuple[dict[str, str], ...]:
    return tuple({"role": role, "content": content} for role, content in pairs)


def test_message_mapping() -> None:
    assert _to_messages(_m(("user", "hi")), "c") == ("", [{"role": "user", "content": "hi"}])
    system, turns = _to_messages(
        _m(("system", "a"), ("user", "u1"), ("system", "b"), ("user", "u2"), ("assistant", "x"), ("assistant", "y")),
        "c",
    )
    assert system == "a\n\nb"
    assert turns == [{"role": "user", "content": "u1\n\nu2"}, {"role": "assistant", "content": "x\n\ny"}]


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        (_m(("assistant", "hi"), ("user", "u")), "this prompt has an assistant message first"),
        (_m(("system", "s")), "this prompt has only system messages"),
        (_m(("user", "u"), ("function", "t")), "message role 'function' is not system, user, assistant or tool"),
    ],
)
def test_message_mapping_errors_name_the_model(messages: tuple[dict[str, str], ...], match: str) -> None:
    with pytest.raises(ConfigError, match=f"model 'claude' \\(anthropic\\): .*{match}"):
        _to_messages(messages, "claude")
