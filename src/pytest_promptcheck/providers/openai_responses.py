"""The OpenAI Responses API (``api = "responses"`` on an openai model): ``POST /v1/responses``.

Our request becomes a Responses body: ``system`` messages join (blank-line separated) into
``instructions``; the other messages become ``input`` items (text, or ``input_text`` /
``input_image`` parts; an assistant's tool calls become ``function_call`` items and a ``tool``
message a ``function_call_output``). Params keep their names except ``max_tokens`` /
``max_new_tokens`` (``max_output_tokens``) and a Chat-style ``response_format``, which becomes
``text.format`` (``json_schema`` flattened, as the Responses API spells it). Tools go out in the
flat function form; ``tool_choice: {name}`` becomes ``{"type": "function", "name"}``. The API has
no seed: the per-call seed is not sent.

The answer's text is the ``output_text`` parts of its ``message`` items joined (what the SDK's
``response.output_text`` gives); ``function_call`` items become tool calls; the finish reason is
``stop`` (``tool_calls`` when it called a tool), or ``length`` / ``content_filter`` for an
``incomplete`` response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..textutil import clip
from ._sdk import token_count
from .base import Completion, Message, ModelRequest, Usage
from .content import responses_content, text_of
from .streaming import StreamBroken
from .tool_calls import tool_call

PATH = "/responses"
_MAX_TOKENS_NAMES = frozenset({"max_tokens", "max_new_tokens", "max_completion_tokens"})
_OWN_FIELDS = frozenset({"model", "input", "instructions", "stream", "messages", "seed", "stream_options"})
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def body(model_id: str, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
    """The Responses request body for ``request``."""
    system = [text_of(m.get("content")) for m in request.messages if m.get("role") == "system"]
    out: dict[str, Any] = {"model": model_id, "input": _input(request.messages)}
    if system:
        out["instructions"] = "\n\n".join(system)
    for key, value in request.params.items():
        if key == "extra_body" and isinstance(value, dict):
            out.update((k, v) for k, v in value.items() if k not in _OWN_FIELDS)
        elif key in _MAX_TOKENS_NAMES:
            out["max_output_tokens"] = value
        elif key == "response_format" and isinstance(value, dict):
            out.setdefault("text", {})["format"] = _text_format(value)
        elif key not in _OWN_FIELDS and value is not None:
            out[key] = value
    if request.tools:
        out["tools"] = [{"type": "function", **tool} for tool in request.tools]
    if request.tool_choice is not None:
        choice = request.tool_choice
        out["tool_choice"] = {"type": "function", "name": choice["name"]} if isinstance(choice, dict) else choice
    if stream:
        out["stream"] = True
    return out


def _input(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            continue
        if role == "tool":
            items.append({"type": "function_call_output", "call_id": message.get("tool_call_id"),
                          "output": text_of(message.get("content"))})  # fmt: skip
            continue
        content = message.get("content")
        if content not in (None, "", []) or not message.get("tool_calls"):
            items.append(
                {"role": role, "content": responses_content(content if content is not None else "", str(role))}
            )
        for call in message.get("tool_calls") or ():
            items.append({"type": "function_call", "call_id": call.get("id"), "name": call.get("name"),
                          "arguments": call.get("arguments", "{}")})  # fmt: skip
    return items


def _text_format(response_format: dict[str, Any]) -> dict[str, Any]:
    """Chat's ``{"type": "json_schema", "json_schema": {name, schema, strict}}`` as ``text.format``."""
    if response_format.get("type") == "json_schema" and isinstance(response_format.get("json_schema"), dict):
        return {"type": "json_schema", **response_format["json_schema"]}
    return dict(response_format)


def completion(response: Any) -> Completion | str:
    """The Completion of a ``response`` object, or why it is not one (for the caller's error)."""
    if not isinstance(response, dict) or not isinstance(response.get("output"), list):
        return f"a non-JSON body {clip(response, 120)!r}" if isinstance(response, str) else "no output list"
    texts: list[str] = []
    calls = []
    for item in response["output"]:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            for part in item.get("content") or ():
                if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
        elif item.get("type") == "function_call":
            raw = item.get("arguments")
            calls.append(tool_call(str(item.get("name", "")), raw if isinstance(raw, str) else "", item.get("call_id")))
    usage = response.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    served = response.get("model")
    return Completion(
        output="".join(texts),
        finish_reason=_finish(response, bool(calls)),
        usage=Usage(token_count(usage.get("input_tokens")), token_count(usage.get("output_tokens"))),
        served_model=served if isinstance(served, str) else None,
        tool_calls=tuple(calls),
    )


def _finish(response: dict[str, Any], called: bool) -> str | None:
    status = response.get("status")
    if status == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return _INCOMPLETE.get(str(reason), str(reason) if reason else "incomplete")
    if status == "completed":
        return "tool_calls" if called else "stop"
    return str(status) if isinstance(status, str) else None


@dataclass
class ResponseEvents:
    """A streamed response: deltas mark the first token; ``response.completed`` (or ``.incomplete``)
    carries the whole response object, read like a non-streamed one."""

    final: Any = None
    problem: str | None = None
    texts: list[str] = field(default_factory=list)

    def feed(self, event: Any) -> bool:
        kind = event.get("type") if isinstance(event, dict) else None
        if kind in ("response.output_text.delta", "response.function_call_arguments.delta"):
            if kind == "response.output_text.delta" and isinstance(event.get("delta"), str):
                self.texts.append(event["delta"])
            return True
        if kind == "response.output_item.added":
            item = event.get("item")
            return isinstance(item, dict) and item.get("type") == "function_call"
        if kind in ("response.completed", "response.incomplete"):
            self.final = event.get("response")
        elif kind in ("response.failed", "error"):
            response = event.get("response")
            error = response.get("error") if isinstance(response, dict) else event
            self.problem = str(error.get("message")) if isinstance(error, dict) and error.get("message") else kind
        return False

    def completion(self) -> Completion:
        if self.final is None:  # the stream ended without its last event: what we have is not the answer
            raise StreamBroken(self.problem or "the stream ended before its response.completed event")
        result = completion(self.final)
        if isinstance(result, str):
            raise StreamBroken(f"its response.completed event holds {result}")
        return result
