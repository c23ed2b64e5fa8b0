"""Tool calls in our terms: parsing a call's argument text, and its stored (JSON) form.

Every provider turns what its wire or decoder gives into :class:`~.base.ToolCall` through
:func:`tool_call`, so "arguments that are not a JSON object" means the same thing everywhere: the
call keeps its raw text, ``arguments`` is None and ``error`` says why. It never raises: a model that
emits broken JSON has answered, and the assertions, not the provider, judge that answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..textutil import clip
from .base import ToolCall


def tool_call(name: Any, raw_arguments: Any, call_id: Any = None) -> ToolCall:
    """A :class:`ToolCall` from a name and its argument text (or an already parsed mapping)."""
    if isinstance(raw_arguments, dict):  # Anthropic's tool_use input, a parser's parsed object
        raw, parsed, error = json.dumps(raw_arguments, ensure_ascii=False), raw_arguments, None
    else:
        raw = (
            raw_arguments
            if isinstance(raw_arguments, str)
            else ""
            if raw_arguments is None
            else json.dumps(raw_arguments)
        )
        parsed, error = parse_arguments(raw)
    return ToolCall(
        name=str(name) if name is not None else "",
        raw_arguments=raw,
        arguments=parsed,
        id=str(call_id) if call_id is not None else None,
        error=error,
    )


def parse_arguments(raw: str) -> tuple[Any, str | None]:
    """(arguments, None) for a JSON object; (None, why) for anything else. Empty text is ``{}``."""
    if not raw.strip():
        return {}, None  # some servers send "" for a call without arguments
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"arguments are not valid JSON ({exc.msg} at char {exc.pos})"
    except ValueError as exc:  # e.g. a number too long to convert
        return None, f"arguments are not valid JSON ({exc})"
    if not isinstance(value, dict):
        return None, f"arguments are JSON {type(value).__name__}, not an object"
    return value, None


def to_json(call: ToolCall) -> dict[str, Any]:
    return {"name": call.name, "arguments": call.arguments, "raw_arguments": call.raw_arguments,
            "id": call.id, "error": call.error}  # fmt: skip


def from_json(data: Any) -> ToolCall | None:
    """A stored call back (cache row, cassette entry); None for something that is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    raw = data.get("raw_arguments")
    if not isinstance(raw, str):  # stored without its text: rebuild it from the parsed form
        return tool_call(data["name"], data.get("arguments") or {}, data.get("id"))
    parsed, error = parse_arguments(raw)  # the stored text is the truth (a redactor may have changed it)
    return ToolCall(data["name"], raw, parsed, data.get("id"), error)


def dumps(calls: Iterable[ToolCall]) -> str | None:
    """The stored form of a completion's calls: JSON text, or None when there are none."""
    found = [to_json(c) for c in calls]
    return json.dumps(found, ensure_ascii=False, sort_keys=True) if found else None


def loads(text: Any) -> tuple[ToolCall, ...]:
    """Calls from :func:`dumps` text (or a list of dicts); unreadable input gives none."""
    if isinstance(text, str):
        try:
            text = json.loads(text)
        except ValueError:
            return ()
    if not isinstance(text, list):
        return ()
    return tuple(c for c in (from_json(d) for d in text) if c is not None)


def tool_document(calls: Iterable[ToolCall]) -> dict[str, Any]:
    """What ``json_path`` reads for a ``$.tool_calls...`` path: ``{"tool_calls": [{"name", "arguments", ...}]}``."""
    return {"tool_calls": [to_json(c) for c in calls]}


def shown(call: ToolCall | dict[str, Any], width: int = 200) -> str:
    """How a call reads in a failure: ``get_weather({"city": "Lyon"})``."""
    name = call.name if isinstance(call, ToolCall) else call.get("name")
    raw = call.raw_arguments if isinstance(call, ToolCall) else call.get("raw_arguments")
    return f"{name}({clip(str(raw or ''), width)})"
