"""A lean HTTP/1.1 client for OpenAI-compatible servers on plain ``http://`` (vLLM, TGI, Ollama, llama.cpp).

Why: through the SDK every call costs ~1–4 ms of CPU, nearly all of it in httpx/httpcore/anyio
(the connection pool walks every connection per request; benchmarks/README.md, "calls/s
ceiling"); on a local server that answers in milliseconds the client, not the model, was the
bottleneck. Here a call is one write and a few reads on a kept-alive asyncio stream: ~0.15 ms.

Only where nothing of the SDK's is lost: plain ``http`` base URLs that no proxy variable routes
(``https``, the official API and proxied hosts keep the SDK), with the SDK client's own headers
(auth, user agent), and the SDK path's errors: the same messages, statuses, ``retryable`` flags,
Retry-After and connection errors (tests/test_provider_openai.py runs its fault tests on both
paths). No retries here either: the engine owns them. ``options = { http = "sdk" }`` on a model
turns this path off.
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
import zlib
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError, ProviderError
from ._sdk import RETRYABLE_STATUS, ServerWords, provider_error, status_message, where

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
    proxies = urllib.request.getproxies()
    proxied = ("http" in proxies or "all" in proxies) and not urllib.request.proxy_bypass(url.hostname)
    return choice == "lean" or not proxied


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_Answer = tuple[int, dict[str, str], bytes, bool]  # status, lower-cased headers, body, whether to keep the connection


class _Disconnected(Exception):
    pass


class LeanHTTP:
    """JSON POSTs over a pool of kept-alive connections to one server; used from one event loop."""

    def __init__(
        self, base_url: str, headers: dict[str, str], *, provider: str, model: str, words: ServerWords
    ) -> None:
        url = urlsplit(base_url)
        self._host, self._port = url.hostname or "", url.port or 80
        self._prefix = url.path.rstrip("/")
        self._base_url, self._provider, self._model, self._words = base_url, provider, model, words
        fixed = {"Host": url.netloc.rpartition("@")[2], **headers, "Accept-Encoding": "identity"}
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items() if k.lower() != "content-length")
        self._idle: list[_Connection] = []

    async def post_json(self, path: str, body: dict[str, Any], *, timeout: float) -> Any:
        """The reply's parsed JSON (the text of a body that is not JSON), or a ProviderError as the SDK path raises."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        request = f"POST {self._prefix}{path} HTTP/1.1\r\n{self._head}Content-Length: {len(data)}\r\n\r\n".encode()
        held: list[_Connection] = []  # the connection in use: closed unless the exchange ended cleanly
        try:
            status, headers, raw, _ = await _bounded(self._exchange(request + data, held), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise self._error(f"no response within {timeout:g} s (timeout)", retryable=True) from None
        except (OSError, _Disconnected, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError,
                zlib.error) as exc:  # fmt: skip
            reason = _DISCONNECTED if isinstance(exc, (_Disconnected, asyncio.IncompleteReadError)) else exc
            failed = self._error(f"connection to {where(self._base_url)} failed: {reason}", retryable=True)
            failed.connection = True
            raise failed from None
        finally:
            for _, writer in held:  # an exchange cut short (error, timeout, cancel): its connection is unusable
                writer.close()
        return self._result(status, headers, raw)

    async def _exchange(self, message: bytes, held: list[_Connection]) -> _Answer:
        connection = await self._connection()
        held.append(connection)
        connection[1].write(message)
        answer = await _response(connection[0])
        held.clear()
        if answer[3]:
            self._idle.append(connection)
        else:
            connection[1].close()
        return answer

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

    async def _connection(self) -> _Connection:
        while self._idle:
            reader, writer = self._idle.pop()
            if not (reader.at_eof() or writer.is_closing()):  # the server may have closed it while idle
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self._host, self._port)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()


class _StatusError:
    """What ``status_message`` reads of an SDK status error: its message and body."""

    def __init__(self, message: str, body: Any) -> None:
        self.message, self.body = message, body


async def _response(reader: asyncio.StreamReader) -> _Answer:
    """(status, lower-cased headers, body, whether the connection can be reused) of one response."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            raise _Disconnected from None
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest[:3])
        if status >= 200 or status == 101:
            break  # 1xx interim answers (100 Continue) come before the real one
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raw = await _chunked(reader)
    elif "content-length" in headers:
        raw = await reader.readexactly(int(headers["content-length"]))
    elif status in (204, 304):
        raw = b""
    else:  # no length: the body runs to the end of the connection
        raw, keep = await reader.read(), False
    encoding = headers.get("content-encoding", "").lower()
    if encoding in ("gzip", "deflate"):
        raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    return status, headers, raw, keep


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _bounded(call: Coroutine[Any, Any, _Answer], seconds: float) -> _Answer:
    if sys.version_info >= (3, 11):  # asyncio.timeout needs no extra task, unlike wait_for
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)  # pragma: no cover - Python 3.10


__all__ = ["HTTP_CHOICES", "LeanHTTP", "wanted"]
