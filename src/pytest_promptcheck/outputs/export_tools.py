"""Export rows of tool-call and multi-turn cases (SPEC §10, issue 16), in OpenAI chat and TRL formats.

Rules (notes/finetune-formats.md): OpenAI's chat format takes a top-level ``tools`` list
(``{"type": "function", "function": {...}}``), assistant ``tool_calls`` (arguments as JSON text)
and ``tool`` messages with ``tool_call_id``; ``weight: 0`` on an assistant message keeps it out of
training, so every assistant message but the target gets it (few-shot turns of a prompt variant,
a conversation's earlier replies). TRL's conversational prompt-completion keeps those in
``prompt``, where they are never trained on; its ``tools`` column is the same list as JSON text
(``SFTTrainer`` parses a string; one text column keeps the Arrow schema the same on every row),
and its tool calls carry the arguments as an object, as chat templates render them::

    openai-chat  {"messages": [..., {"role": "assistant", "tool_calls": [{"id": "call_0", "type": "function",
                  "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}]}], "tools": [...]}
    trl-sft      {"prompt": [...], "completion": [{"role": "assistant", "content": "", "tool_calls": [{"type":
                  "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}], "tools": "[...]"}

A conversation exports its first failing turn: the history up to it, then the target, last.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

TOOL_FORMATS = ("openai-chat", "trl-sft")


def needs_tool_row(messages: list[dict[str, Any]], tools: Iterable[Any], ideal_tool_call: Any) -> bool:
    """Whether a row needs this module: tools offered, a tool call as target, or tool calls in the history."""
    return bool(list(tools)) or ideal_tool_call is not None or any(_has_tools(m) for m in messages)


def build_tool_row(
    fmt: str,
    messages: list[dict[str, Any]],
    ideal: str | None,
    ideal_tool_call: dict[str, Any] | None,
    tools: Iterable[dict[str, Any]],
) -> tuple[dict[str, Any] | None, str]:
    """The row of a tool or multi-turn call in ``fmt`` (openai-chat or trl-sft), or (None, why not)."""
    if fmt not in TOOL_FORMATS:
        return None, f"tool calls are exported as {' or '.join(TOOL_FORMATS)} only"
    if not messages or messages[-1].get("role") == "assistant":
        return None, "prompt ends with an assistant turn"
    if ideal_tool_call is None and not ideal:
        return None, "empty message"
    openai = fmt == "openai-chat"
    prompt = [_message(m, openai=openai) for m in messages]
    target = _target(ideal, ideal_tool_call, openai=openai)
    functions = [{"type": "function", "function": dict(t)} for t in tools]
    if openai:
        row: dict[str, Any] = {"messages": [*prompt, target]}
        if functions:
            row["tools"] = functions
        return row, ""
    return {"prompt": prompt, "completion": [target], "tools": json.dumps(functions) if functions else None}, ""


def weighted(prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI chat: assistant messages before the target are not trained on (``weight: 0``)."""
    return [{**m, "weight": 0} if m.get("role") == "assistant" else m for m in prompt]


def _has_tools(message: dict[str, Any]) -> bool:
    return message.get("role") == "tool" or bool(message.get("tool_calls"))


def _message(message: dict[str, Any], *, openai: bool) -> dict[str, Any]:
    role = str(message.get("role"))
    content = message.get("content")
    if role == "tool":
        out = {"role": "tool", "tool_call_id": message.get("tool_call_id"), "content": str(content or "")}
        return out if openai else {**out, "name": message.get("name")}
    if role != "assistant":
        return {"role": role, "content": str(content)}
    out = {"role": "assistant", "content": str(content or "")}
    calls = message.get("tool_calls") or []
    if calls:
        out["tool_calls"] = [_call(c.get("name"), c.get("arguments"), c.get("id"), openai=openai) for c in calls]
        if openai and not out["content"]:
            out["content"] = None  # OpenAI: an assistant message that only calls tools has no content
    return {**out, "weight": 0} if openai else out


def _target(ideal: str | None, tool_call: dict[str, Any] | None, *, openai: bool) -> dict[str, Any]:
    if tool_call is None:
        return {"role": "assistant", "content": ideal}
    call = _call(tool_call["name"], json.dumps(tool_call.get("args") or {}), "call_target", openai=openai)
    return (
        {"role": "assistant", "tool_calls": [call]}
        if openai
        else {"role": "assistant", "content": ideal or "", "tool_calls": [call]}
    )


def _call(name: Any, arguments: Any, call_id: Any, *, openai: bool) -> dict[str, Any]:
    """One tool call: OpenAI's arguments are JSON text; TRL's an object (what chat templates render)."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    if openai:
        return {"id": str(call_id or "call_0"), "type": "function", "function": {"name": str(name), "arguments": raw}}
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = {}
    return {
        "type": "function",
        "function": {"name": str(name), "arguments": parsed if isinstance(parsed, dict) else {}},
    }
