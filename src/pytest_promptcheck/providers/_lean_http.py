"""The lean path to OpenAI-compatible servers on plain ``http://`` (vLLM, TGI, Ollama, llama.cpp): aiohttp.

Why: through the SDK every call costs ~1–4 ms of CPU, nearly all of it in httpx/httpcore/anyio
(the connection pool walks every connection per request; benchmarks/README.md, "calls/s
ceiling"); on a local server that answers in milliseconds the client, not the model, was the
bottleneck. aiohttp's client (one ``ClientSession`` with a kept-alive ``TCPConnector``) sends the
same JSON POST for ~0.45 ms of CPU (2,000 calls at concurrency 32 in one process, loaded 2-core
machine: httpx under the SDK 4.1 ms, a hand-written HTTP/1.1 client on asyncio streams, which this
module was before, 0.15 ms: the ~0.3 ms more buys a maintained HTTP stack, framing, keep-alive
and decompression included, in place of our own). End to end the plugin on this path uses less CPU per call than the bare SDK client
(benchmarks/README.md, "calls/s ceiling").

Only where nothing of the SDK's is lost: plain ``http`` base URLs that no proxy variable routes
(``https``, the official API and proxied hosts keep the SDK), with the SDK client's own headers
(auth, user agent), and the SDK path's errors: the same messages, statuses, ``retryable`` flags,
Retry-After and connection errors (tests/test_lean_http.py runs every fault of the tests' server
through both paths). No retries here either: the engine owns them (aiohttp retries a dropped
kept-alive connection only for idempotent methods, never for these POSTs). ``options = { http =
"sdk" }`` on a model turns this path off.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ConfigError, ProviderError
from ._sdk import RETRYABLE_STATUS, ServerWords, provider_error, status_message, where

if TYPE_CHECKING:  # imported when a model takes this path: aiohttp costs ~0.3 s of every run's startup
    import aiohttp
    from yarl import URL

HTTP_CHOICES = ("auto", "lean", "sdk")
_DISCONNECTED = "Server disconnected without sending a response."  # httpcore's words, as the SDK path says them


def wanted(option: Any, base_url: str | None, model: str) -> bool:
    """Whether a model's calls take this path: ``options.http`` (``auto``: plain http, not proxied)."""
    choice = "auto" if option is None else option
    if choice not in HTTP_CHOICES:
        raise ConfigError(f"model {model!r}: options.http is {choice!r}; use one of {', '.join(HTTP_CHOICES)}")
    if choice == "sdk" or not base_url:
        return False
    url = urlsplit(base_url)
    if url.scheme != "http" or not url.hostname:
        return False  # https keeps the SDK's TLS and certificate handling
    if url.username or url.password:
        return False  # credentials in the URL: httpx sends them as Basic auth; the SDK path keeps that
    proxies = urllib.request.getproxies()
    proxied = ("http" in proxies or "all" in proxies) and not urllib.request.proxy_bypass(url.hostname)
    return choice == "lean" or not proxied


class LeanHTTP:
    """JSON POSTs to one server through one aiohttp session; used from one event loop."""

    def __init__(
        self, base_url: str, headers: dict[str, str], *, provider: str, model: str, words: ServerWords
    ) -> None:
        import aiohttp
        from yarl import URL

        self._aiohttp, self._url = aiohttp, URL
        self._base_url = base_url.rstrip("/")
        self._provider, self._model, self._words = provider, model, words
        # A local server gains nothing from compressing its replies; both ends would pay the CPU.
        self._headers = {**{k: v for k, v in headers.items() if k.lower() != "content-length"},
                         "Accept-Encoding": "identity"}  # fmt: skip
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}  # parsed once per path, not per call
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _client(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp binds it to the running loop, which __init__ may not see."""
        if self._session is None or self._session.closed:
            self._session = self._aiohttp.ClientSession(
                # limit=0: the engine's limiter bounds the calls in flight; a second queue here would
                # spend the call's timeout waiting for a connection.
                connector=self._aiohttp.TCPConnector(limit=0),
                headers=self._headers,
                # No cookies: each call stands alone, as the response cache and cassettes replay it.
                cookie_jar=self._aiohttp.DummyCookieJar(),
            )
        return self._session

    async def post_json(self, path: str, body: dict[str, Any], *, timeout: float) -> Any:
        """The reply's parsed JSON (the text of a body that is not JSON), or a ProviderError as the SDK path raises."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        url = self._urls.get(path) or self._urls.setdefault(path, self._url(self._base_url + path))
        limit = self._timeouts.get(timeout) or self._timeouts.setdefault(
            timeout, self._aiohttp.ClientTimeout(total=timeout)
        )
        try:
            async with self._client().post(url, data=data, timeout=limit, allow_redirects=False) as response:
                status, headers, raw = response.status, response.headers, await response.read()
        except (asyncio.TimeoutError, TimeoutError):  # aiohttp's own timeouts derive from these
            raise self._error(f"no response within {timeout:g} s (timeout)", retryable=True) from None
        except (
            self._aiohttp.ClientConnectionError,
            self._aiohttp.ClientPayloadError,
            self._aiohttp.ClientResponseError,
        ) as exc:
            # refused or dropped connections, a body cut short or undecodable, a reply that is not HTTP
            reason = _DISCONNECTED if isinstance(exc, self._aiohttp.ServerDisconnectedError) else exc
            failed = self._error(f"connection to {where(self._base_url)} failed: {reason}", retryable=True)
            failed.connection = True
            raise failed from None
        return self._result(status, {k.lower(): v for k, v in headers.items()}, raw)

    def _result(self, status: int, headers: dict[str, str], raw: bytes) -> Any:
        text = raw.decode("utf-8", errors="replace")
        if not 200 <= status < 300:
            raise self._status_error(status, headers, text)
        if "json" not in headers.get("content-type", "").split(";")[0]:
            return text  # the provider says what came instead of a chat.completion
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._error(f"malformed response from the server: the body is not valid JSON ({exc})") from None

    def _status_error(self, status: int, headers: dict[str, str], text: str) -> ProviderError:
        """The SDK's status error, worded as ``_sdk.status_message`` words it for the SDK path."""
        said, body = f"Error code: {status}", text.strip()
        parsed: Any = body
        try:
            parsed = json.loads(body)
        except ValueError:
            pass  # status_message shows the text
        else:
            error = parsed.get("error", parsed) if isinstance(parsed, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            if isinstance(message, str) and message:
                said += f" - {message}"
        shown = _StatusError(said, parsed.get("error", parsed) if isinstance(parsed, dict) else parsed)
        retryable = status in RETRYABLE_STATUS or status >= 500
        return self._error(status_message(shown, self._words), status=status, retryable=retryable, headers=headers)

    def _error(self, message: str, **kwargs: Any) -> ProviderError:
        return provider_error(self._provider, self._model, message, **kwargs)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class _StatusError:
    """What ``status_message`` reads of an SDK status error: its message and body."""

    def __init__(self, message: str, body: Any) -> None:
        self.message, self.body = message, body


__all__ = ["HTTP_CHOICES", "LeanHTTP", "wanted"]
