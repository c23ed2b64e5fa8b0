"""Streamed answers (``params: {stream: true}``): SSE through the SDK client, one Completion out.

The stream goes out through the SDK client's ``post(..., stream=True)`` like every other call
(``_sdk.post_json``): the client's auth, headers, timeouts and error classes, each event handed
back as parsed JSON. An *assembler* per wire protocol folds the events into the same Completion a
non-streamed call gives (text, finish reason, usage, served model, tool calls) and says which
event carried the first token, so ``ttft_ms`` is the time from the request's start to the first
content or tool-call delta. A cached or replayed answer was never streamed: its ``ttft_ms`` is None.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ..errors import ConfigError, ProviderError
from ._sdk import ServerWords, guarded, provider_error, token_count
from .base import Completion, ModelRequest, Usage
from .tool_calls import tool_call


class StreamBroken(Exception):
    """The events did not make an answer (no final event, an error event); the message says what."""


class Assembler(Protocol):
    def feed(self, event: Any) -> bool:
        """Take one event; True when it carried content or a tool call (the first such is the TTFT)."""
        ...

    def completion(self) -> Completion: ...


def wants_stream(request: ModelRequest, provider: str, model: str) -> bool:
    """Whether the call's params ask for a stream (``stream: true``); anything but a boolean is an error."""
    value = request.params.get("stream")
    if value is None or isinstance(value, bool):
        return bool(value)
    raise ConfigError(f"model {model!r} ({provider}): param 'stream' must be true or false, got {value!r}")


async def stream_completion(
    sdk: Any,
    client: Any,
    path: str,
    body: dict[str, Any],
    assembler: Assembler,
    *,
    timeout: float,
    client_timeout: float,
    provider: str,
    model: str,
    server_words: ServerWords,
) -> Completion:
    """POST ``body`` (with ``stream: true``) and fold its events; latency and TTFT from the request's start."""
    options: Any = {"timeout": timeout} if timeout != client_timeout else {}
    start = time.perf_counter()
    first: list[float] = []

    async def consume() -> None:
        stream = await client.post(
            path, body=body, cast_to=object, options=options, stream=True, stream_cls=sdk.AsyncStream[object]
        )
        try:
            async for event in stream:
                if assembler.feed(event) and not first:
                    first.append((time.perf_counter() - start) * 1000)
        finally:
            await stream.close()

    try:
        await guarded(sdk, consume(), provider=provider, model=model, base_url=str(client.base_url),
                      timeout=timeout, server_words=server_words)  # fmt: skip
    except ProviderError as exc:
        if exc.status != 200:
            raise
        # Anthropic's SDK raises an ``error`` event inside the 200 stream as a status error of status 200.
        raise provider_error(provider, model, f"the server reported an error mid-stream: {exc.detail}") from None
    except sdk.APIError as exc:  # OpenAI's SDK: an ``error`` event inside a 200 stream
        words = server_words(exc.body) if isinstance(getattr(exc, "body", None), dict) else None
        raise provider_error(
            provider, model, f"the server reported an error mid-stream: {words or exc.message}"
        ) from None
    try:
        completion = assembler.completion()
    except StreamBroken as exc:
        raise provider_error(provider, model, f"malformed stream from the server: {exc}") from None
    return replace(completion, latency_ms=(time.perf_counter() - start) * 1000, ttft_ms=first[0] if first else None)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class _PendingCall:
    id: str | None = None
    name: str = ""
    raw: list[str] = field(default_factory=list)


@dataclass
class ChatChunks:
    """Chat Completions ``chat.completion.chunk`` events (``choices[0].delta``; usage in the last chunk)."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, _PendingCall] = field(default_factory=dict)
    finish: str | None = None
    usage: Usage = field(default_factory=Usage)
    served: str | None = None

    def feed(self, event: Any) -> bool:
        if not isinstance(event, dict):
            return False
        if isinstance(event.get("model"), str):
            self.served = event["model"]
        usage = event.get("usage")
        if isinstance(usage, dict):
            self.usage = Usage(token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens")))
        choices = event.get("choices")
        choice = _dict(choices[0]) if isinstance(choices, list) and choices else {}
        if isinstance(choice.get("finish_reason"), str):
            self.finish = choice["finish_reason"]
        delta = _dict(choice.get("delta"))
        got = False
        if isinstance(delta.get("content"), str) and delta["content"]:
            self.text.append(delta["content"])
            got = True
        for piece in delta.get("tool_calls") or ():
            if isinstance(piece, dict):
                self._tool_piece(piece)
                got = True
        return got

    def _tool_piece(self, piece: dict[str, Any]) -> None:
        index = piece.get("index")
        pending = self.calls.setdefault(index if isinstance(index, int) else len(self.calls), _PendingCall())
        function = _dict(piece.get("function"))
        if isinstance(piece.get("id"), str):
            pending.id = piece["id"]
        if isinstance(function.get("name"), str):
            pending.name += function["name"]
        if isinstance(function.get("arguments"), str):
            pending.raw.append(function["arguments"])

    def completion(self) -> Completion:
        calls = tuple(tool_call(c.name, "".join(c.raw), c.id) for _, c in sorted(self.calls.items()))
        return Completion("".join(self.text), self.finish, self.usage, served_model=self.served, tool_calls=calls)


@dataclass
class AnthropicEvents:
    """Messages API events: ``message_start`` (model, input tokens), ``content_block_start/delta``
    (text and ``tool_use`` with ``input_json_delta``), ``message_delta`` (stop reason, output tokens)."""

    finish_reasons: dict[str, str]
    text: list[str] = field(default_factory=list)
    calls: dict[int, _PendingCall] = field(default_factory=dict)
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    served: str | None = None

    def feed(self, event: Any) -> bool:
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "message_start" and isinstance(event.get("message"), dict):
            message = event["message"]
            self.served = message.get("model") if isinstance(message.get("model"), str) else None
            self._usage(message.get("usage"))
        elif kind == "content_block_start" and isinstance(event.get("content_block"), dict):
            block = event["content_block"]
            if block.get("type") == "tool_use":
                self.calls[int(event.get("index") or 0)] = _PendingCall(block.get("id"), str(block.get("name", "")))
                return True
        elif kind == "content_block_delta" and isinstance(event.get("delta"), dict):
            return self._delta(int(event.get("index") or 0), event["delta"])
        elif kind == "message_delta":
            delta = _dict(event.get("delta"))
            if isinstance(delta.get("stop_reason"), str):
                self.stop_reason = delta["stop_reason"]
            self._usage(event.get("usage"))
        return False

    def _delta(self, index: int, delta: dict[str, Any]) -> bool:
        if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str) and delta["text"]:
            self.text.append(delta["text"])
            return True
        if delta.get("type") == "input_json_delta" and index in self.calls:
            self.calls[index].raw.append(str(delta.get("partial_json", "")))
            return True
        return False

    def _usage(self, usage: Any) -> None:
        if isinstance(usage, dict):  # message_delta's count is the cumulative total: it replaces the start's
            for name in ("input_tokens", "output_tokens"):
                value = token_count(usage.get(name))
                if value is not None:
                    setattr(self, name, value)

    def completion(self) -> Completion:
        reason = self.stop_reason
        calls = tuple(tool_call(c.name, "".join(c.raw), c.id) for _, c in sorted(self.calls.items()))
        return Completion(
            "".join(self.text),
            self.finish_reasons.get(reason, reason) if reason else None,
            Usage(self.input_tokens, self.output_tokens),
            served_model=self.served,
            tool_calls=calls,
        )
