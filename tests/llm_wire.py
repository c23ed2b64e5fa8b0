"""Wire formats the test server speaks beyond one JSON body: SSE streams and the Responses API.

Pure functions from a scripted answer (text, tool calls, finish reason, token counts) to what each
API sends, so ``llm_server`` keeps its routes short: OpenAI Chat Completions chunks (usage in a last
chunk when ``stream_options.include_usage``), Anthropic Messages events (``message_start`` →
``content_block_*`` → ``message_delta`` → ``message_stop``), and ``POST /v1/responses`` (a
``response`` object, or its ``response.*`` events). A stream is a list of ``bytes`` (SSE events)
and ``float`` (seconds to wait there: the delay before the first token).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

StreamPart = bytes | float


@dataclass(frozen=True)
class Answer:
    """What a route answers, in wire-neutral terms (built from a ``Reply``)."""

    id: str
    model: str
    content: str
    finish_reason: str  # OpenAI's vocabulary: stop | length | tool_calls | content_filter | ...
    tool_calls: tuple[dict[str, Any], ...]  # {"name", "arguments": str | dict, "id"?}
    input_tokens: int
    output_tokens: int
    usage: bool = True
    first_token_delay: float = 0.0


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n".encode()


def pieces(text: str) -> list[str]:
    """The text in a few deltas (word by word, spaces kept), as a model streams it."""
    words = text.split(" ")
    return [w if i == len(words) - 1 else w + " " for i, w in enumerate(words) if w or i == len(words) - 1] or [""]


def call_id(answer: Answer, index: int) -> str:
    given = answer.tool_calls[index].get("id")
    return str(given) if given else f"call_{answer.id}_{index}"


def raw_arguments(call: dict[str, Any]) -> str:
    arguments = call.get("arguments", {})
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


# -- OpenAI Chat Completions, stream=true ------------------------------------------------------------


def openai_chunks(answer: Answer, *, include_usage: bool) -> list[StreamPart]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse({
            "id": answer.id, "object": "chat.completion.chunk", "created": int(time.time()), "model": answer.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        })  # fmt: skip

    parts: list[StreamPart] = [chunk({"role": "assistant", "content": ""}), answer.first_token_delay]
    if answer.content:
        parts += [chunk({"content": piece}) for piece in pieces(answer.content)]
    for i, call in enumerate(answer.tool_calls):
        raw = raw_arguments(call)
        head = {
            "index": i,
            "id": call_id(answer, i),
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        }
        parts.append(chunk({"tool_calls": [head]}))
        half = len(raw) // 2
        for text in (raw[:half], raw[half:]):
            parts.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": text}}]}))
    parts.append(chunk({}, answer.finish_reason))
    if include_usage and answer.usage:
        parts.append(sse({
            "id": answer.id, "object": "chat.completion.chunk", "created": int(time.time()), "model": answer.model,
            "choices": [], "usage": {"prompt_tokens": answer.input_tokens, "completion_tokens": answer.output_tokens,
                                     "total_tokens": answer.input_tokens + answer.output_tokens},
        }))  # fmt: skip
    parts.append(sse("[DONE]"))
    return parts


# -- Anthropic Messages, stream=true -------------------------------------------------------------------


def anthropic_events(answer: Answer, *, stop_reason: str, stop_sequence: str | None) -> list[StreamPart]:
    start = {
        "id": answer.id, "type": "message", "role": "assistant", "model": answer.model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": answer.input_tokens, "output_tokens": 1} if answer.usage else {},
    }  # fmt: skip
    parts: list[StreamPart] = [
        sse({"type": "message_start", "message": start}, "message_start"),
        answer.first_token_delay,
    ]
    index = 0
    if answer.content or not answer.tool_calls:
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        parts.append(sse(block, "content_block_start"))
        parts.append(sse({"type": "ping"}, "ping"))
        for piece in pieces(answer.content):
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
            parts.append(sse(delta, "content_block_delta"))
        parts.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        index = 1
    for i, call in enumerate(answer.tool_calls):
        tool_id = call_id(answer, i).replace("call_", "toolu_", 1)
        block = {"type": "tool_use", "id": tool_id, "name": call["name"], "input": {}}
        parts.append(
            sse({"type": "content_block_start", "index": index, "content_block": block}, "content_block_start")
        )
        raw = raw_arguments(call)
        half = len(raw) // 2
        for text in (raw[:half], raw[half:]):
            delta = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": text},
            }
            parts.append(sse(delta, "content_block_delta"))
        parts.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        index += 1
    end = {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence}}
    if answer.usage:
        end["usage"] = {"output_tokens": answer.output_tokens}
    parts += [sse(end, "message_delta"), sse({"type": "message_stop"}, "message_stop")]
    return parts


# -- OpenAI Responses API ----------------------------------------------------------------------------


def responses_invalid(body: Any) -> str | None:
    """Why the real Responses API would answer 400 to ``body`` (the essentials), or None."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return "the body must be a JSON object with `model`"
    given = body.get("input")
    if not isinstance(given, (str, list)) or not given:
        return "input: a string or a non-empty list of input items is required"
    if "messages" in body:
        return "Unknown parameter: 'messages' (the Responses API takes `input`)"
    for i, item in enumerate(given if isinstance(given, list) else []):
        if not isinstance(item, dict) or not (item.get("role") or item.get("type")):
            return f"input[{i}]: an input item needs a `role` or a `type`"
    return None


def responses_input_text(body: Any) -> str:
    """Every text of the instructions and input (for content matching and token counts)."""
    if not isinstance(body, dict):
        return ""
    texts = [str(body["instructions"])] if body.get("instructions") else []
    given = body.get("input")
    if isinstance(given, str):
        return "\n".join([*texts, given])
    for item in given if isinstance(given, list) else []:
        content = item.get("content", item.get("output", "")) if isinstance(item, dict) else ""
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.append("".join(str(p.get("text", "")) for p in content if isinstance(p, dict)))
    return "\n".join(texts)


def responses_object(answer: Answer) -> dict[str, Any]:
    output: list[dict[str, Any]] = []
    if answer.content or not answer.tool_calls:
        output.append({
            "type": "message", "id": f"msg_{answer.id}", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": answer.content, "annotations": []}],
        })  # fmt: skip
    for i, call in enumerate(answer.tool_calls):
        output.append({
            "type": "function_call", "id": f"fc_{answer.id}_{i}", "call_id": call_id(answer, i),
            "name": call["name"], "arguments": raw_arguments(call), "status": "completed",
        })  # fmt: skip
    incomplete = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(answer.finish_reason)
    payload: dict[str, Any] = {
        "id": answer.id, "object": "response", "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed",
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "model": answer.model, "output": output, "error": None,
    }  # fmt: skip
    if answer.usage:
        payload["usage"] = {
            "input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens,
            "total_tokens": answer.input_tokens + answer.output_tokens,
        }  # fmt: skip
    return payload


def responses_events(answer: Answer) -> list[StreamPart]:
    final = responses_object(answer)
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    parts: list[StreamPart] = [
        sse({"type": "response.created", "response": started}, "response.created"),
        answer.first_token_delay,
    ]
    for index, item in enumerate(final["output"]):
        empty = {**item, "content": []} if item["type"] == "message" else {**item, "arguments": ""}
        parts.append(sse({"type": "response.output_item.added", "output_index": index, "item": empty},
                         "response.output_item.added"))  # fmt: skip
        if item["type"] == "message":
            for piece in pieces(answer.content):
                delta = {"type": "response.output_text.delta", "item_id": item["id"], "output_index": index,
                         "content_index": 0, "delta": piece}  # fmt: skip
                parts.append(sse(delta, "response.output_text.delta"))
        else:
            delta = {"type": "response.function_call_arguments.delta", "item_id": item["id"],
                     "output_index": index, "delta": item["arguments"]}  # fmt: skip
            parts.append(sse(delta, "response.function_call_arguments.delta"))
        parts.append(sse({"type": "response.output_item.done", "output_index": index, "item": item},
                         "response.output_item.done"))  # fmt: skip
    kind = "response.completed" if final["status"] == "completed" else "response.incomplete"
    parts.append(sse({"type": kind, "response": final}, kind))
    return parts


# -- what a test looks at ------------------------------------------------------------------------------


def image_parts(body: Any) -> list[dict[str, Any]]:
    """Every image a request carries, in each protocol's own form, as ``{"url"}`` or ``{"media_type", "data"}``.

    Chat Completions ``image_url`` parts, Responses ``input_image`` parts, Anthropic ``image`` blocks
    (base64 or url source); a data URL is split into its media type and base64 data.
    """
    found: list[dict[str, Any]] = []
    items = []
    if isinstance(body, dict):
        items = [*(body.get("messages") or []), *(body.get("input") if isinstance(body.get("input"), list) else [])]
    for item in items:
        content = item.get("content") if isinstance(item, dict) else None
        for part in content if isinstance(content, list) else []:
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            url = None
            if kind == "image_url":
                url = (part.get("image_url") or {}).get("url")
            elif kind == "input_image":
                url = part.get("image_url")
            elif kind == "image":
                source = part.get("source") or {}
                if source.get("type") == "base64":
                    found.append({"media_type": source.get("media_type"), "data": source.get("data")})
                else:
                    found.append({"url": source.get("url")})
                continue
            else:
                continue
            if isinstance(url, str) and url.startswith("data:") and ";base64," in url:
                media_type, _, data = url[5:].partition(";base64,")
                found.append({"media_type": media_type, "data": data})
            else:
                found.append({"url": url})
    return found
