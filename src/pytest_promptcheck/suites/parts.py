"""Content parts of a prompt's user message: text and images.

```yaml
- user: [ { text: "What is in this picture?" }, { image: { path: "images/{{ name }}.png" } } ]
```

Each part's text, path or URL is a template rendered with the case's vars. An image ``path`` is read
through :mod:`.files` (under the project's roots, a regular file, at most ``limits.image_bytes``)
and must be a PNG, JPEG, GIF or WebP image by its magic bytes, whatever its name says; a ``url``
(http or https) is sent as it is, never fetched here. The rendered parts are the neutral form of
``providers.base.Message``: ``{"type": "text", "text"}``, ``{"type": "image", "media_type",
"data": <base64>, "path"}`` or ``{"type": "image", "url"}``. ``path`` is for people and exports
only: the cache keys hash the bytes, not the name (``providers.content.key_form``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True)
class PartTemplate:
    """One content part as written: ``kind`` is text | path | url; ``source`` a template."""

    kind: str
    source: str
    line: int


class PartError(Exception):
    """A part cannot be rendered; ``in_template``: the same for every case (a literal path)."""

    def __init__(self, message: str, *, in_template: bool) -> None:
        super().__init__(message)
        self.in_template = in_template


def part_templates(value: Any) -> tuple[PartTemplate, ...]:
    """The parts of a schema-checked list (``{text}`` or ``{image: {path | url}}`` each)."""
    out = []
    for part in value:
        line = int(getattr(part, "line", 0))
        if "text" in part:
            out.append(PartTemplate("text", str(part["text"]), line))
        else:
            ((kind, source),) = part["image"].items()
            out.append(PartTemplate(kind, str(source), line))
    return tuple(out)


def media_type(data: bytes) -> str | None:
    """The image type by magic bytes (png, jpeg, gif, webp), or None."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def render_parts(
    parts: tuple[PartTemplate, ...], render: Callable[[str], str], read: Callable[[str], bytes]
) -> list[dict[str, Any]]:
    """The neutral parts: ``render`` fills a template, ``read`` returns a relative path's bytes
    (raising :class:`PartError`)."""
    out: list[dict[str, Any]] = []
    for part in parts:
        value = render(part.source)
        literal = "{" not in part.source
        if part.kind == "text":
            out.append({"type": "text", "text": value})
        elif part.kind == "url":
            if not value.startswith(("https://", "http://")):
                raise PartError(
                    f"image url {value!r} (line {part.line}) is not an http(s) URL; give a web address, "
                    "or a file under the project with `path:`",
                    in_template=literal,
                )
            out.append({"type": "image", "url": value})
        else:
            try:
                data = read(value)
            except PartError as exc:  # a literal path is wrong for every case: reported once, at the prompt
                raise PartError(str(exc), in_template=literal) from None
            kind = media_type(data)
            if kind is None:
                raise PartError(
                    f"image {value!r} (line {part.line}) is not a PNG, JPEG, GIF or WebP image "
                    f"(it starts with {data[:8]!r}); name an image file",
                    in_template=literal,
                )
            out.append({"type": "image", "media_type": kind, "data": base64.b64encode(data).decode(), "path": value})
    return out
