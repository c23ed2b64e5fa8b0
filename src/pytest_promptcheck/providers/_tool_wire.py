"""Tools on the wire: our neutral tools, tool choice, tool calls and tool results as each API spells them.

Our forms (see :mod:`.base`): a tool is OpenAI's flat function ``{"name", "description",
"parameters"}``; the choice is ``"auto" | "required" | "none" | {"name": X}``; an assistant message
may carry ``tool_calls`` (``{"id", "name", "arguments"}``, arguments as raw JSON text) and a
``tool`` message answers one (``tool_call_id``, ``name``, ``content``).

- OpenAI Chat Completions: ``tools=[{"type": "function", "function": {...}}]``, the choice as is
  (``{"type": "function", "function": {"name": X}}`` for a named one), ``message.tool_calls``.
- Anthropic Messages: ``tools=[{"name", "description", "input_schema"}]``, the choice as
  ``{"type": "auto" | "any" | "none" | "tool"}``; ``tool_use`` content blocks for calls, and
  ``tool_result`` blocks in a *user* message for results (the anthropic provider merges
  consecutive ones into one message, as the API wants).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .base import ToolCall
from .tool_calls import tool_call

_ANTHROPIC_CHOICE = {"auto": "auto", "required": "any", "none": "none"}


# -- OpenAI Chat Completions ----------------------------------------------------------------------
def openai_tools(tools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": dict(tool)} for tool in tools]


def openai_tool_choice(choice: Any) -> Any:
    if isinstance(choice, Mapping):
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice


def openai_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """One neutral message as Chat Completions takes it (messages without tool parts pass unchanged)."""
    out = dict(message)
    calls = out.pop("tool_calls", None)
    if message.get("role") == "assistant" and calls:
        out["content"] = out.get("content") or None
        out["tool_calls"] = [
            {"id": c.get("id"), "type": "function",
             "function": {"name": c.get("name"), "arguments": _raw(c.get("arguments"))}}
            for c in calls
        ]  # fmt: skip
    elif message.get("role") == "tool":
        out = {"role": "tool", "tool_call_id": message.get("tool_call_id"), "content": str(message.get("content", ""))}
    return out


def openai_tool_calls(message: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    """``choices[0].message.tool_calls`` as our calls; entries that are not function calls are skipped."""
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return ()
    found = []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            found.append(tool_call(function.get("name"), function.get("arguments"), call.get("id")))
    return tuple(found)


# -- transformers chat templates -----------------------------------------------------------------
def hf_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """One neutral message as transformers chat templates read it: calls with parsed ``arguments``."""
    out = dict(message)
    calls = out.pop("tool_calls", None)
    if message.get("role") == "assistant" and calls:
        out["content"] = out.get("content") or ""
        out["tool_calls"] = [
            {"id": c.get("id"), "type": "function", "function": {"name": c.get("name"), "arguments": _parsed(c.get("arguments"))}}
            for c in calls
        ]  # fmt: skip
    return out


# -- Anthropic Messages ---------------------------------------------------------------------------
def anthropic_tools(tools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        entry: dict[str, Any] = {"name": tool["name"]}
        if tool.get("description"):
            entry["description"] = tool["description"]
        entry["input_schema"] = dict(tool.get("parameters") or {"type": "object", "properties": {}})
        out.append(entry)
    return out


def anthropic_tool_choice(choice: Any) -> dict[str, Any]:
    if isinstance(choice, Mapping):
        return {"type": "tool", "name": choice["name"]}
    return {"type": _ANTHROPIC_CHOICE[str(choice)]}


def anthropic_turn(message: Mapping[str, Any]) -> tuple[str, Any]:
    """(role, content) of one neutral message: an assistant's calls become ``tool_use`` blocks,
    a ``tool`` message a user turn with one ``tool_result`` block; others are returned as they are."""
    role = message.get("role")
    if role == "tool":
        block = {"type": "tool_result", "tool_use_id": message.get("tool_call_id"),
                 "content": str(message.get("content", ""))}  # fmt: skip
        return "user", [block]
    calls = message.get("tool_calls")
    if role == "assistant" and calls:
        text = message.get("content")
        blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if isinstance(text, str) and text else []
        for c in calls:
            parsed = _parsed(c.get("arguments"))
            blocks.append({"type": "tool_use", "id": c.get("id"), "name": c.get("name"), "input": parsed})
        return "assistant", blocks
    content = message.get("content", "")
    return str(role), content if isinstance(content, list) else str(content)


def merge_content(first: Any, second: Any) -> Any:
    """Two consecutive turns of one role as one: texts joined by a blank line, blocks concatenated."""
    if isinstance(first, str) and isinstance(second, str):
        return first + "\n\n" + second
    return _blocks(first) + _blocks(second)


def anthropic_tool_calls(content: Iterable[Any]) -> tuple[ToolCall, ...]:
    """The ``tool_use`` blocks of a message; ``raw_arguments`` is ``json.dumps(input)``."""
    found = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "tool_use":
            found.append(tool_call(block.get("name"), _input(block.get("input")), block.get("id")))
    return tuple(found)


def _input(value: Any) -> Any:
    """A ``tool_use`` input: a mapping as is; anything else as JSON text (so it reads as not an object)."""
    return value if isinstance(value, dict) else json.dumps(value)


def _blocks(content: Any) -> list[Any]:
    if isinstance(content, list):
        return list(content)
    return [{"type": "text", "text": str(content)}] if content else []


def _raw(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {})


def _parsed(arguments: Any) -> Any:
    """History arguments as Anthropic's ``input`` object (text that is not an object becomes ``{}``)."""
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments) if isinstance(arguments, str) and arguments.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
