"""The `openai` provider end to end: pytest → engine → the real openai SDK → a local HTTP server.

Each test writes a pytester project whose model ``gpt`` points at the ``llm_server`` fixture
(tests/llm_server.py) and runs pytest in-process; the server runs on its own thread in this process.
Nothing here leaves 127.0.0.1 and nothing in the SDK is patched.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest

from llm_server import LLMServer, RecordedRequest, Reply
from provider_project import ECHO_SUITE, ONE_CASE, TWO_CASES, USAGE_SUITE, output_of, write_provider_project
from pytest_promptcheck.calls.plan import derive_seed
from pytest_promptcheck.config import ProjectConfig
from pytest_promptcheck.config_models import ModelConfig
from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.providers.base import ModelRequest, ProviderContext
from pytest_promptcheck.providers.openai import OpenAIProvider

pytest.importorskip("openai")
pytestmark = pytest.mark.usefixtures("openai_warm")  # see server_fixtures.openai_warm

KEY_ENV = "PC_TEST_KEY"
SECRET = "sk-test-Zq8vN3pL0rT5wY7x-secret"  # never to be printed


def write_project(
    pytester: pytest.Pytester,
    base_url: str | None,
    suite: str,
    *,
    api_key_env: str | None = KEY_ENV,
    model_lines: str = "",
    top_lines: str = "",
) -> None:
    """A project with one openai model ``gpt`` (model id ``gpt-test``) and one suite ``test_suite``."""
    write_provider_project(
        pytester, name="gpt", provider="openai", model_id="gpt-test", base_url=base_url, suite=suite,
        api_key_env=api_key_env, model_lines=model_lines, top_lines=top_lines,
    )  # fmt: skip


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return SECRET


# -- answers and verdicts --------------------------------------------------------------------------


def test_verdicts_from_real_responses(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """The server's answers decide pass and fail; the request is a proper Chat Completions call."""
    write_project(pytester, llm_server.base_url, ECHO_SUITE)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_suite.prompts.yaml::good?gpt? PASSED*",
            "*test_suite.prompts.yaml::bad?gpt? FAILED*",
            "*contains 'refund'*",
            "*no idea*",
        ]
    )
    requests = llm_server.requests
    assert len(requests) == 2
    by_text = {r.last_user: r for r in requests}
    assert set(by_text) == {"refund issued", "no idea"}
    for request in requests:
        assert (request.method, request.path) == ("POST", "/v1/chat/completions")
        assert request.body["model"] == "gpt-test"
        assert request.body["messages"] == [{"role": "user", "content": request.last_user}]
        assert request.headers["authorization"] == f"Bearer {api_key}"
        assert "stream" not in request.body or request.body["stream"] is False
        assert request.status == 200


def test_scripted_responder_and_system_prompt(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """A responder scripts the model; multi-message prompts arrive in order with their roles."""

    def triage(request: RecordedRequest) -> str:
        return '{"category": "billing"}' if "charged" in request.last_user else '{"category": "other"}'

    llm_server.responder = triage
    write_project(
        pytester,
        llm_server.base_url,
        """
        prompts:
          p:
            - system: "Answer with JSON only."
            - user: "Ticket: {{ ticket }}"
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
    messages = {r.last_user: r.body["messages"] for r in llm_server.requests}
    assert messages["Ticket: I was charged twice"] == [
        {"role": "system", "content": "Answer with JSON only."},
        {"role": "user", "content": "Ticket: I was charged twice"},
    ]


def test_params_pass_through(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """Config and case params reach the body (max_new_tokens as max_tokens); each call has its own seed."""
    write_project(
        pytester,
        llm_server.base_url,
        """
        prompts:
          p: "hi"
        cases:
          - id: sampled
            params: { max_new_tokens: 7, top_p: 0.5, top_k: 40 }
            repeat: 3
            assert: [ { contains: hi } ]
        """,
        model_lines="params = { temperature = 0.2, max_new_tokens = 99 }",
    )
    result = pytester.runpytest("--pc-seed", "5")
    result.assert_outcomes(passed=1)
    bodies = [r.body for r in llm_server.requests]
    assert len(bodies) == 3
    for body in bodies:
        assert body["temperature"] == 0.2
        assert body["max_tokens"] == 7  # the case beats the config
        assert "max_new_tokens" not in body
        assert body["top_p"] == 0.5
        assert body["top_k"] == 40  # unknown to the SDK: sent through extra_body (vLLM and friends take it)
    seeds = sorted(body["seed"] for body in bodies)
    assert seeds == sorted(derive_seed(5, "sampled", sample) for sample in range(3))
    assert len(set(seeds)) == 3


def test_usage_and_finish_reason_reach_assertions(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str
) -> None:
    llm_server.responder = lambda request: Reply(
        "truncated answ", finish_reason="length", prompt_tokens=12, completion_tokens=34
    )
    write_project(pytester, llm_server.base_url, USAGE_SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    assert "46 tokens is not <= 40" in text
    assert "finish_reason 'length' not in ['stop']" in text


# -- failures of the call are errors, not failures -------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fault"),
    [
        (500, {"status": 500}),
        (503, {"status": 503, "message": "the server is overloaded"}),
        (429, {"status": 429, "retry_after": 2, "message": "Rate limit reached for gpt-test"}),
    ],
)
def test_http_error_is_an_error_with_one_request_per_call(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str, status: int, fault: dict[str, object]
) -> None:
    llm_server.add_fault("status", **fault)
    write_project(pytester, llm_server.base_url, TWO_CASES, top_lines="retries = 0")  # engine retries: test_engine
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of*c1*",
            "*model gpt (openai:gpt-test)*",
            f"*model call failed: openai model 'gpt' (HTTP {status}): *",
        ]
    )
    if "message" in fault:
        result.stdout.fnmatch_lines([f"*{fault['message']}*"])
    assert "Traceback" not in output_of(result)
    assert llm_server.request_count == 2  # SDK retries are off: one request per call
    assert [r.status for r in llm_server.requests] == [status, status]


def test_timeout_is_an_error(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    llm_server.add_fault("slow", delay=3)
    write_project(pytester, llm_server.base_url, ONE_CASE, top_lines="retries = 0")
    result = pytester.runpytest("--pc-timeout", "0.5")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*openai model 'gpt': no response within 0.5 s (timeout)*"])
    assert llm_server.request_count == 1


def test_malformed_json_is_a_clear_error(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    llm_server.add_fault("malformed")
    write_project(pytester, llm_server.base_url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*openai model 'gpt': malformed response from the server: the body is not valid JSON*"]
    )
    text = output_of(result)
    assert "Traceback" not in text and "site-packages" not in text and "_base_client" not in text
    assert llm_server.request_count == 1


def test_non_json_body_is_a_clear_error(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """A 200 with an HTML page (a misconfigured proxy) is reported, not parsed into nonsense."""
    llm_server.add_fault("malformed", body=b"<html>captive portal</html>", content_type="text/html")
    write_project(pytester, llm_server.base_url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*malformed response from the server: *non-JSON body '<html>captive portal</html>'*"])


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"choices": []}', "expected a chat.completion object, got no choices[0].message"),
        (b'{"choices": [{"message": {"content": 42}}]}', "choices[0].message.content is 42"),
        (b'{"error": null}', "expected a chat.completion object, got no choices[0].message"),
    ],
)
def test_json_that_is_no_chat_completion_is_a_clear_error(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str, body: bytes, said: str
) -> None:
    llm_server.add_fault("malformed", body=body)
    write_project(pytester, llm_server.base_url, ONE_CASE, top_lines="retries = 0")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    assert f"openai model 'gpt': malformed response from the server: {said}" in result.stdout.str()


def test_extra_body_params_reach_the_request_as_is(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str
) -> None:
    """``extra_body`` (the SDK's spelling for server-specific fields) keeps working; it cannot replace the messages."""
    write_project(
        pytester,
        llm_server.base_url,
        """
        prompts:
          p: "hi"
        cases:
          - id: guided
            params: { extra_body: { guided_choice: [hi, bye], messages: [] }, logprobs: true }
            assert: [ { equals: hi } ]
        """,
    )
    pytester.runpytest().assert_outcomes(passed=1)
    (body,) = [r.body for r in llm_server.requests]
    assert body["guided_choice"] == ["hi", "bye"]
    assert body["logprobs"] is True
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert "extra_body" not in body


def test_dropped_connection_is_a_connection_error(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str
) -> None:
    llm_server.add_fault("drop")
    write_project(pytester, llm_server.base_url, ONE_CASE, top_lines="retries = 0")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*openai model 'gpt': connection to {llm_server.url} failed: *disconnected*"])
    assert llm_server.request_count == 1


def test_server_down_is_a_connection_error(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    url = llm_server.base_url
    llm_server.stop()
    write_project(pytester, url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*openai model 'gpt': connection to http://127.0.0.1:* failed: *"])


def test_only_faulted_requests_error(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """A fault matched by content hits one case; the others still pass."""
    llm_server.add_fault("status", status=500, match="hello two")
    write_project(pytester, llm_server.base_url, TWO_CASES)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*::c1?gpt? PASSED*", "*::c2?gpt? ERROR*"])


# -- credentials -----------------------------------------------------------------------------------


def test_missing_key_names_the_env_var(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PC_MISSING_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    write_project(pytester, None, ONE_CASE, api_key_env="PC_MISSING_KEY")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*model 'gpt' (openai) needs an API key: export PC_MISSING_KEY=*"])
    assert "Traceback" not in output_of(result)


def test_missing_default_key_names_openai_api_key(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    write_project(pytester, None, ONE_CASE, api_key_env=None)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*needs an API key: export OPENAI_API_KEY=*"])


def test_local_base_url_needs_no_key(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    write_project(pytester, llm_server.base_url, ONE_CASE, api_key_env=None)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert llm_server.request_count == 1


def test_named_key_env_is_required_even_with_base_url(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`api_key_env` says the server wants a key: its absence is an error before any request."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    write_project(pytester, llm_server.base_url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*export {KEY_ENV}=*"])
    assert llm_server.request_count == 0


def test_api_key_never_printed(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """Passes, failures and errors, verbose, with locals and debug logs: the key is not in any output."""
    llm_server.add_fault("status", status=401, message="Incorrect API key provided", match="hello two")
    write_project(
        pytester,
        llm_server.base_url,
        TWO_CASES
        + """
      - id: c3
        vars: { who: three }
        assert: [ { contains: nope } ]
""",
    )
    result = pytester.runpytest("-vv", "-rA", "-l", "--tb=long", "--log-level=DEBUG", "--pc-timeout", "5")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    assert all(r.headers["authorization"] == f"Bearer {api_key}" for r in llm_server.requests)  # it was used
    assert api_key not in output_of(result)
    assert api_key[-12:] not in output_of(result)
    for path in Path(pytester.path).rglob("*"):  # nor in anything the run wrote (records, caches)
        if path.is_file():
            assert api_key.encode() not in path.read_bytes(), path


# -- the provider on its own (same SDK, same server): what the engine will rely on ------------------


def _provider(base_url: str, **model: object) -> OpenAIProvider:
    config = ModelConfig(name="gpt", provider="openai", model="gpt-test", base_url=base_url, **model)  # type: ignore[arg-type]
    return OpenAIProvider(config, ProviderContext(ProjectConfig(root=Path.cwd()), Path.cwd()))


async def _call(provider: OpenAIProvider, timeout: float = 5.0) -> object:
    try:
        return await provider.complete(ModelRequest(messages=({"role": "user", "content": "hi"},), timeout=timeout))
    except ProviderError as exc:
        return exc
    finally:
        await provider.aclose()


@pytest.mark.parametrize(
    ("fault", "header", "expected"),
    [
        ({"retry_after": 7}, "retry-after", "7"),
        ({"retry_after_ms": 1500}, "retry-after-ms", "1500"),
        (
            {"retry_after": datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)},
            "retry-after",
            "Wed, 02 Jan 2030 03:04:05 GMT",
        ),
    ],
)
def test_retry_after_reaches_the_provider_error(
    llm_server: LLMServer, fault: dict[str, object], header: str, expected: str
) -> None:
    llm_server.add_fault("status", status=429, **fault)
    error = asyncio.run(_call(_provider(llm_server.base_url)))
    assert isinstance(error, ProviderError)
    assert (error.provider, error.model, error.status, error.retryable) == ("openai", "gpt", 429, True)
    assert error.headers[header] == expected  # type: ignore[attr-defined]
    assert llm_server.request_count == 1


@pytest.mark.parametrize(
    ("kind", "options", "status", "retryable"),
    [
        ("status", {"status": 500}, 500, True),
        ("status", {"status": 408}, 408, True),
        ("status", {"status": 400}, 400, False),
        ("status", {"status": 401}, 401, False),
        ("slow", {"delay": 2}, None, True),
        ("drop", {}, None, True),
        ("malformed", {}, None, False),
    ],
)
def test_retryable_classification(
    llm_server: LLMServer, kind: str, options: dict[str, object], status: int | None, retryable: bool
) -> None:
    llm_server.add_fault(kind, **options)  # type: ignore[arg-type]
    error = asyncio.run(_call(_provider(llm_server.base_url), timeout=0.3))
    assert isinstance(error, ProviderError)
    assert (error.status, error.retryable) == (status, retryable)
    assert llm_server.request_count == 1


def test_served_model_and_usage(llm_server: LLMServer) -> None:
    llm_server.responder = lambda request: Reply(
        "ok", model="gpt-test-2026-01-01", prompt_tokens=3, completion_tokens=1
    )
    completion = asyncio.run(_call(_provider(llm_server.base_url)))
    assert completion.output == "ok"  # type: ignore[attr-defined]
    assert completion.served_model == "gpt-test-2026-01-01"  # type: ignore[attr-defined]
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (3, 1)  # type: ignore[attr-defined]
    assert completion.finish_reason == "stop"  # type: ignore[attr-defined]


def test_engine_limits_concurrency_on_a_local_server(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str
) -> None:
    """Calls of one item run together, at most 4 at a time on a 127.0.0.1 base_url (SPEC §3)."""
    llm_server.set_latency(0.2)  # long enough that the first 4 calls overlap even on a loaded machine
    write_project(
        pytester,
        llm_server.base_url,
        """
        prompts:
          p: "hi"
        cases:
          - id: many
            repeat: 8
            assert: [ { contains: hi } ]
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert llm_server.request_count == 8
    assert llm_server.peak_in_flight == 4


@pytest.mark.parametrize(
    "body, words",
    [
        (b'{"detail": "model gpt-test is not loaded"}', "model gpt-test is not loaded"),
        (b'{"detail": [{"loc": ["body", "max_tokens"], "msg": "Input should be a valid integer"}]}',
         "Input should be a valid integer (body.max_tokens)"),
        (b'{"error": "the proxy has no route for gpt-test"}', "the proxy has no route for gpt-test"),
        (b'{"status": "sad", "hint": 7}', '{"status": "sad", "hint": 7}'),  # nothing recognised: the raw body
    ],
)  # fmt: skip
def test_other_servers_error_bodies_show_their_words(
    pytester: pytest.Pytester, llm_server: LLMServer, api_key: str, body: bytes, words: str
) -> None:
    """FastAPI's ``detail`` (transformers serve), a bare ``error`` string, or the raw body: never just
    "HTTP 422: Error code: 422"."""
    llm_server.add_fault("status", status=422, error_body=body)
    write_project(pytester, llm_server.base_url, TWO_CASES, top_lines="retries = 0")
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([f"*model call failed: openai model 'gpt' (HTTP 422): *{words}*"])


def test_every_distinct_attempt_error_is_shown(pytester: pytest.Pytester, llm_server: LLMServer, api_key: str) -> None:
    """A first 500 that held the cause, then 429s: the final message lists both, not only the last one."""
    llm_server.add_fault("status", status=500, message="the GPU fell over", first=1)
    llm_server.add_fault("status", status=429, message="slow down", retry_after_ms=10)
    write_project(pytester, llm_server.base_url, ONE_CASE, top_lines="retries = 2")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*attempt 1: HTTP 500 the GPU fell over; attempts 2-3: HTTP 429 slow down (gave up after 3 attempts in *"]
    )


def test_pc_model_points_a_model_at_a_local_server(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--pc-model tuned=openai:MODEL@URL replaces a python model with one served locally: no key needed."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    write_project(pytester, None, ONE_CASE, api_key_env=None)  # an openai model without base_url or key
    result = pytester.runpytest(
        "--pc-model", f"gpt=openai:served-model@{llm_server.base_url}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    assert llm_server.requests[0].body["model"] == "served-model"
    pytester.makepyprojecttoml('[tool.promptcheck]\nmodels = ["tuned"]\n[tool.promptcheck.model.tuned]\n'
                               'provider = "python"\nfunction = "nowhere:nothing"\n')  # fmt: skip
    result = pytester.runpytest("--pc-model", f"tuned=openai:m@v1@{llm_server.base_url}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert llm_server.requests[-1].body["model"] == "m@v1"  # a model id may hold "@" itself
