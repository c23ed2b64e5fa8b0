"""Small text helpers shared by every output: clipping, short reprs, plain values, shown paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in ``...`` when cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short(value: Any, limit: int = 50) -> str:
    """``repr(value)`` clipped: for values inside one-line messages."""
    return clip(repr(value), limit)


def plain(value: Any) -> Any:
    """A YAML value as plain dicts and lists, so messages say ``dict``/``list`` (not LineDict)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def shown_path(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` (where pytest or the command ran) when under it, else as is."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def safe_url(url: str | None) -> str | None:
    """A base URL without user info or query (where credentials hide); unresolved ``${ENV}`` stays as written."""
    if not url or "${" in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def dump_yaml(value: Any) -> str:
    """JSON-like ``value`` as block-style YAML the way suites are written: 2-space maps, dashes
    indented by 2, no line wrapping, multi-line strings as literal blocks."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(block_scalars(value), out)
    return out.getvalue()


def block_scalars(value: Any) -> Any:
    """A copy of JSON-like ``value`` for ruamel.yaml with multi-line strings as literal blocks (readable
    prompts and diffs). A string that starts with whitespace stays quoted: a literal block would need
    an indentation indicator, and the quoted form reads back the same."""
    from ruamel.yaml.scalarstring import LiteralScalarString

    if isinstance(value, str) and "\n" in value and not value.startswith((" ", "\t")):
        return LiteralScalarString(value)
    if isinstance(value, dict):
        return {str(k): block_scalars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [block_scalars(v) for v in value]
    return value


def outside_refs(schema: Any) -> Iterator[str]:
    """Every ``$ref`` / ``$dynamicRef`` in a JSON Schema that is not a fragment of it (``file:``,
    ``http:``, a path): what a suite's schema must not follow (the suite and verdict checks share it)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$dynamicRef") and isinstance(value, str) and not value.startswith("#"):
                    yield value
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
