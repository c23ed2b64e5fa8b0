"""The openai provider's lean HTTP path (providers/_lean_http.py) beside the SDK path it stands in for.

A plain-http OpenAI-compatible server takes the lean path; https, proxied hosts and
``options = { http = "sdk" }`` keep the SDK. Every fault of the tests' local server must come
out of both paths as the same ProviderError: message, status, retryable, connection, Retry-After.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from llm_server import LLMServer, Reply
from provider_project import ONE_CASE, TWO_CASES, write_provider_project
from pytest_promptcheck.config import ProjectConfig
from pytest_promptcheck.config_models import ModelConfig
from pytest_promptcheck.errors import ConfigError, ProviderError
from pytest_promptcheck.providers.base import ModelRequest, ProviderContext
from pytest_promptcheck.providers.openai import OpenAIProvider

pytest.importorskip("openai")
pytestmark = pytest.mark.usefixtures("openai_warm")

_PROXY_VARS = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def _provider(base_url: str | None, http: str | None = None) -> OpenAIProvider:
    options = {"http": http} if http else {}
    config = ModelConfig(name="gpt", provider="openai", model="gpt-test", base_url=base_url, options=options)
    return OpenAIProvider(config, ProviderContext(ProjectConfig(root=Path.cwd()), Path.cwd()))


async def _calls(provider: OpenAIProvider, count: int = 1, timeout: float = 30.0) -> list[Any]:
    """``count`` calls one after another: each completion or ProviderError."""
    results: list[Any] = []
    try:
        for _ in range(count):
            try:
                request = ModelRequest(messages=({"role": "user", "content": "hi"},), timeout=timeout)
                results.append(await provider.complete(request))
            except ProviderError as exc:
                results.append(exc)
    finally:
        await provider.aclose()
    return results


def _lean(request: Any) -> bool:
    """Whether a request came by the lean path: the SDK adds per-request headers that it does not."""
    return "x-stainless-retry-count" not in request.headers


def _seen(error: object) -> tuple[object, ...]:
    assert isinstance(error, ProviderError), error
    headers = {k.lower(): v for k, v in getattr(error, "headers", {}).items() if k.lower().startswith("retry-after")}
    return (str(error), error.status, error.retryable, error.connection, error.retry_after is not None, headers)


# -- which path -------------------------------------------------------------------------------------


def test_plain_http_takes_the_lean_path_and_the_rest_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """http://host → lean; options.http = "sdk", https, the official API, credentials in the URL, a
    proxied host → the SDK."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert _provider("http://127.0.0.1:9/v1")._lean is not None
    assert _provider("http://127.0.0.1:9/v1", http="sdk")._lean is None
    assert _provider("https://vllm.example.test/v1")._lean is None
    assert _provider(None)._lean is None
    assert _provider("http://user:secret@127.0.0.1:9/v1")._lean is None  # httpx's Basic auth from the URL
    assert _provider("http://user:secret@127.0.0.1:9/v1", http="lean")._lean is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.test:3128")
    assert _provider("http://gpu-box.example.test:8000/v1")._lean is None  # the SDK honours the proxy
    assert _provider("http://gpu-box.example.test:8000/v1", http="lean")._lean is not None


def test_unknown_http_option_names_the_key_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"model 'gpt': options.http is 'fast'; use one of auto, lean, sdk"):
        _provider("http://127.0.0.1:9/v1", http="fast")


def test_pytest_run_with_options_http_sdk_uses_the_sdk(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """The opt-out reaches the provider from pyproject.toml: the SDK's per-request headers show it."""
    write_provider_project(
        pytester, name="gpt", provider="openai", model_id="gpt-test", base_url=llm_server.base_url,
        suite=TWO_CASES, api_key_env=None, model_lines='options = { http = "sdk" }',
    )  # fmt: skip
    pytester.runpytest().assert_outcomes(passed=2)
    assert not any(_lean(r) for r in llm_server.requests)
    llm_server.reset()
    write_provider_project(
        pytester, name="gpt", provider="openai", model_id="gpt-test", base_url=llm_server.base_url,
        suite=TWO_CASES, api_key_env=None,
    )  # fmt: skip
    pytester.runpytest("--pc-no-cache").assert_outcomes(passed=2)
    assert llm_server.request_count == 2
    assert all(_lean(r) for r in llm_server.requests)


# -- same requests, same answers ------------------------------------------------------------------------


def test_same_headers_and_body_as_the_sdk(llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-lean")
    llm_server.responder = lambda request: Reply("ok", model="gpt-test-2026", prompt_tokens=3, completion_tokens=1)
    (sdk,) = asyncio.run(_calls(_provider(llm_server.base_url, http="sdk")))
    (lean,) = asyncio.run(_calls(_provider(llm_server.base_url)))
    assert (lean.output, lean.served_model, lean.usage, lean.finish_reason) == (
        sdk.output, sdk.served_model, sdk.usage, sdk.finish_reason,
    )  # fmt: skip
    first, second = llm_server.requests
    assert (_lean(first), _lean(second)) == (False, True)
    assert (second.method, second.path, second.body) == (first.method, first.path, first.body)
    for name in ("authorization", "user-agent", "content-type", "accept", "x-stainless-lang"):
        assert second.headers[name] == first.headers[name], name
    assert second.headers["authorization"] == "Bearer sk-test-lean"


def test_connections_are_kept_alive(llm_server: LLMServer) -> None:
    """Calls one after another share one connection (the server sees one client port)."""
    results = asyncio.run(_calls(_provider(llm_server.base_url), count=5))
    assert [r.output for r in results] == ["hi"] * 5
    assert len({r.client_port for r in llm_server.requests}) == 1
    assert all(_lean(r) for r in llm_server.requests)


def test_closing_the_provider_closes_its_connections(llm_server: LLMServer) -> None:
    """aclose closes the HTTP session: nothing is left open for the interpreter to complain about."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = asyncio.run(_calls(_provider(llm_server.base_url), count=2))
        gc.collect()
    assert [r.output for r in results] == ["hi"] * 2
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]


# -- every fault: the same error from both paths ----------------------------------------------------------

_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("status", {"status": 500}),
    ("status", {"status": 503, "message": "the server is overloaded"}),
    ("status", {"status": 408}),
    ("status", {"status": 400, "message": "bad request"}),
    ("status", {"status": 401}),
    ("status", {"status": 429, "retry_after": 7, "message": "Rate limit reached for gpt-test"}),
    ("status", {"status": 429, "retry_after_ms": 1500}),
    ("status", {"status": 429, "retry_after": datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)}),
    ("status", {"status": 422, "error_body": b'{"detail": "model gpt-test is not loaded"}'}),
    ("status", {"status": 422, "error_body": b'{"detail": [{"loc": ["body", "n"], "msg": "not an integer"}]}'}),
    ("status", {"status": 422, "error_body": b'{"error": "the proxy has no route for gpt-test"}'}),
    ("status", {"status": 422, "error_body": b'{"status": "sad", "hint": 7}'}),
    ("status", {"status": 502, "error_body": b"<html>Bad Gateway</html>"}),
    ("status", {"status": 500, "error_body": b""}),
    ("slow", {"delay": 2}),
    ("drop", {}),
    ("malformed", {}),
    ("malformed", {"body": b"<html>captive portal</html>", "content_type": "text/html"}),
    ("malformed", {"body": b'{"choices": []}'}),
    ("malformed", {"body": b'{"choices": [{"message": {"content": 42}}]}'}),
]


@pytest.mark.parametrize(("kind", "options"), _FAULTS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(_FAULTS)])
def test_each_fault_is_the_same_error_on_both_paths(llm_server: LLMServer, kind: str, options: dict[str, Any]) -> None:
    llm_server.add_fault(kind, **options)  # type: ignore[arg-type]
    timeout = 0.3 if kind == "slow" else 30.0  # only the slow fault may time out, however loaded the machine
    (sdk,) = asyncio.run(_calls(_provider(llm_server.base_url, http="sdk"), timeout=timeout))
    (lean,) = asyncio.run(_calls(_provider(llm_server.base_url), timeout=timeout))
    assert _seen(lean) == _seen(sdk)
    assert [_lean(r) for r in llm_server.requests] == [False, True]
    assert llm_server.request_count == 2  # one request per call on each path: no retries below the engine


def test_a_dropped_connection_is_not_reused(llm_server: LLMServer) -> None:
    """After a drop the next call opens a new connection and is answered."""
    llm_server.add_fault("drop", first=1)
    dropped, answered = asyncio.run(_calls(_provider(llm_server.base_url), count=2))
    assert isinstance(dropped, ProviderError) and dropped.connection
    assert answered.output == "hi"
    first, second = llm_server.requests
    assert first.client_port != second.client_port and _lean(second)


def test_server_down_is_a_connection_error_on_both_paths(llm_server: LLMServer) -> None:
    root, url = llm_server.url, llm_server.base_url
    llm_server.stop()
    for http in ("sdk", None):
        provider = _provider(url, http=http)
        assert (provider._lean is None) == (http == "sdk")
        (error,) = asyncio.run(_calls(provider))
        assert isinstance(error, ProviderError)
        assert str(error).startswith(f"openai model 'gpt': connection to {root} failed: ")
        assert (error.retryable, error.connection, error.status) == (True, True, None)


def test_engine_retries_lean_faults_as_it_retries_sdk_ones(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """A 500 then a 429 with retry-after-ms, then answers: the items pass after the engine's retries."""
    llm_server.add_fault("status", status=500, first=1)
    llm_server.add_fault("status", status=429, retry_after_ms=10, first=2)
    write_provider_project(
        pytester, name="gpt", provider="openai", model_id="gpt-test", base_url=llm_server.base_url,
        suite=ONE_CASE, api_key_env=None, top_lines="retries = 3",
    )  # fmt: skip
    pytester.runpytest("--pc-no-cache").assert_outcomes(passed=1)
    assert [r.status for r in llm_server.requests] == [500, 429, 200]
    assert all(_lean(r) for r in llm_server.requests)


# -- other HTTP framings (servers other than the tests' one) ---------------------------------------------------
# aiohttp owns the framing; these check what a user sees: each framing a server may choose is answered.


class RawServer:
    """A socket server that answers each request with the next canned response, in order."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.responses: list[bytes] = []
        self.connections = 0
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while self.responses:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                while self.responses and (data := connection.recv(65536)):
                    self.received.append(data)
                    response = self.responses.pop(0)
                    connection.sendall(response)
                    if b"Connection: close" in response:
                        break


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.listener.close()
    server.thread.join(timeout=5)


def _completion_json(text: str) -> bytes:
    return (
        b'{"choices": [{"message": {"role": "assistant", "content": "%s"}, "finish_reason": "stop"}]}' % text.encode()
    )


def test_chunked_interim_and_unsized_bodies(raw_server: RawServer) -> None:
    """A 100 Continue before the answer, a chunked body (kept alive), then a body that runs to the close."""
    body = _completion_json("chunked")
    half = len(body) // 2
    raw_server.responses += [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n"
        % (half, body[:half], len(body) - half, body[half:]),
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + _completion_json("unsized"),
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(_completion_json("again")), _completion_json("again")),
    ]
    raw_server.thread.start()
    outputs = asyncio.run(_calls(_provider(raw_server.url), count=3))
    assert [getattr(o, "output", o) for o in outputs] == ["chunked", "unsized", "again"]
    assert raw_server.connections == 2  # kept alive after the chunked body, a new one after the close
    assert not any(b"x-stainless-retry-count" in r.lower() for r in raw_server.received)  # the lean path
