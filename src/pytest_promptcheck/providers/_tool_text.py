"""Tool calls in a local model's decoded text: the transformers provider's ``tool_parser`` option.

A local checkpoint has no tool-call wire: its chat template renders the tools into the prompt and
the model writes its calls as text. ``tool_parser`` says how to read them back:

- ``"json"``: the whole output, or the first fenced block (```` ```json ... ``` ````), is a call
  ``{"name": ..., "arguments": {...}}`` (``parameters`` is read as ``arguments`` too) or a list of
  them. Text that is not that is a plain answer with no calls.
- ``"tags"``: every ``<tool_call>{...}</tool_call>`` block, as Qwen 2.5/3 and Hermes templates
  emit. A block whose body is not JSON is still a call (the model meant one): its name, when one can
  be read, with ``arguments`` None and the error saying why, so ``tool_call`` fails naming the text.

The output text itself is left as decoded (outputs are not normalised); the calls come beside it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .base import ToolCall
from .tool_calls import tool_call

PARSERS = ("json", "tags")
_FENCE = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.DOTALL)
_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_NAME = re.compile(r'"name"\s*:\s*"([^"\\]{1,64})"')


def parse_tool_calls(parser: str, text: str) -> tuple[ToolCall, ...]:
    """The calls ``parser`` reads in ``text`` (none when it holds none)."""
    return _json_calls(text) if parser == "json" else _tag_calls(text)


def _json_calls(text: str) -> tuple[ToolCall, ...]:
    fenced = _FENCE.search(text)
    body = (fenced.group(1) if fenced else text).strip()
    try:
        value = json.loads(body)
    except ValueError:
        return ()
    items = value if isinstance(value, list) else [value]
    if not items or not all(_is_call(item) for item in items):
        return ()
    return tuple(_from_object(item) for item in items)


def _tag_calls(text: str) -> tuple[ToolCall, ...]:
    found = []
    for match in _TAG.finditer(text):
        body = match.group(1).strip()
        try:
            value = json.loads(body)
        except ValueError as exc:
            name = _NAME.search(body)
            found.append(
                ToolCall(name.group(1) if name else "", body, None, None, f"the tool call is not valid JSON ({exc})")
            )
            continue
        if _is_call(value):
            found.append(_from_object(value))
        else:
            found.append(ToolCall("", body, None, None, 'the tool call is not a {"name", "arguments"} object'))
    return tuple(found)


def _is_call(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("name"), str)
        and set(value) <= {"name", "arguments", "parameters", "id"}
    )


def _from_object(value: dict[str, Any]) -> ToolCall:
    arguments = value.get("arguments", value.get("parameters", {}))
    return tool_call(value["name"], arguments, value.get("id"))


__all__ = ["PARSERS", "parse_tool_calls"]
