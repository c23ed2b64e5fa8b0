"""``[tool.promptcheck.model.NAME]`` tables appended to pyproject.toml as text.

Appended, never rewritten: every existing byte (comments, order, formatting) stays, which
``tomllib`` (read-only) could not promise and needs no extra dependency. Names already defined
are found first (:func:`existing_models`) so the importer never writes a table twice.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .result import ModelTable

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


class TomlProblem(ValueError):
    """pyproject.toml is not valid TOML; the message says where."""


def existing_models(text: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlProblem(f"pyproject.toml is not valid TOML ({exc}); fix it, then import again") from None
    models = data.get("tool", {}).get("promptcheck", {}).get("model", {})
    return dict(models) if isinstance(models, dict) else {}


def appended(text: str, tables: list[ModelTable], source: str) -> str:
    """``text`` with ``tables`` added at its end (a header comment names where they came from)."""
    if not tables:
        return text
    out = text if not text or text.endswith("\n") else text + "\n"
    out += ("\n" if out else "") + f"# models imported from {source} by `promptcheck import`\n"
    for table in tables:
        out += f"[tool.promptcheck.model.{_key(table.name)}]\n"
        for key, value in table.fields.items():
            out += f"{_key(key)} = {_value(value)}\n"
        out += "\n"
    return out


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items() if v is not None) + " }"
    return json.dumps(str(value))
