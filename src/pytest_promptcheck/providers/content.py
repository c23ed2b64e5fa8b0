"""Content parts (text and images) in each wire protocol's form.

Our neutral parts (see ``base.Message``): ``{"type": "text", "text"}``, ``{"type": "image",
"media_type", "data"}`` (base64) and ``{"type": "image", "url"}``. Chat Completions takes
``image_url`` parts (a data URL for bytes), the Responses API ``input_text`` / ``input_image``,
Anthropic ``image`` blocks with a base64 or url source. A string content stays a string.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

from .base import Message


def is_image(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "image"


def has_images(messages: Iterable[Message]) -> bool:
    return any(isinstance(m.get("content"), list) and any(map(is_image, m["content"])) for m in messages)


def text_of(content: Any) -> str:
    """A message's text: the string, or its text parts joined (images left out)."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def data_url(part: dict[str, Any]) -> str:
    return str(part["url"]) if "url" in part else f"data:{part['media_type']};base64,{part['data']}"


def chat_content(content: Any) -> Any:
    if not isinstance(content, list):
        return content
    return [
        {"type": "image_url", "image_url": {"url": data_url(p)}} if is_image(p) else {"type": "text", "text": p["text"]}
        for p in content
    ]


def responses_content(content: Any, role: str) -> Any:
    if not isinstance(content, list):
        return content
    text_type = "output_text" if role == "assistant" else "input_text"
    return [
        {"type": "input_image", "image_url": data_url(p)} if is_image(p) else {"type": text_type, "text": p["text"]}
        for p in content
    ]


def anthropic_blocks(content: Any) -> list[dict[str, Any]]:
    """A content as Messages API blocks (a string becomes one text block)."""
    if not isinstance(content, list):
        return [{"type": "text", "text": "" if content is None else str(content)}]
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, dict) and part.get("type") not in (None, "text", "image"):
            blocks.append(part)  # already a Messages API block (tool_use, tool_result: providers/_tool_wire.py)
        elif not is_image(part):
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif "url" in part:
            blocks.append({"type": "image", "source": {"type": "url", "url": part["url"]}})
        else:
            source = {"type": "base64", "media_type": part["media_type"], "data": part["data"]}
            blocks.append({"type": "image", "source": source})
    return blocks


def display_text(content: Any) -> str:
    """A content for people (failure output, a judge's prompt): the text, each image as a short mark."""
    if not isinstance(content, list):
        return "" if content is None else str(content)
    return " ".join(_shown(p) for p in content if isinstance(p, dict))


def _shown(part: dict[str, Any]) -> str:
    if not is_image(part):
        return str(part.get("text", ""))
    if "url" in part:
        return f"[image {part['url']}]"
    if "sha256" in part:  # a record's stub
        return f"[image {part.get('path') or part['sha256'][:12]}, {part.get('media_type')}, {part.get('bytes')} bytes]"
    size = len(str(part.get("data", ""))) * 3 // 4
    return f"[image {part.get('path', '')}, {part.get('media_type')}, ~{size} bytes]".replace("image , ", "image ")


def record_form(messages: Iterable[Message]) -> tuple[Message, ...]:
    """Messages as a record keeps them: an image's bytes become ``{"type": "image", "media_type",
    "sha256", "bytes", "path"}``, so records and reports never carry megabytes of base64 (an export
    that needs the data reads ``path`` again and checks ``sha256``)."""
    return tuple(_record_message(m) for m in messages)


def _record_message(message: Message) -> Message:
    content = message.get("content")
    if not isinstance(content, list) or not any(map(is_image, content)):
        return dict(message)
    return {**message, "content": [_stub(p) if is_image(p) and "data" in p else dict(p) for p in content]}


def _stub(part: dict[str, Any]) -> dict[str, Any]:
    data = base64.b64decode(part["data"])
    stub = {"type": "image", "media_type": part["media_type"], "sha256": hashlib.sha256(data).hexdigest()}
    return {**stub, "bytes": len(data), **({"path": part["path"]} if part.get("path") else {})}


def key_form(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """Messages as the call keys hash them: an image by its bytes, not its file name."""
    if not has_images(messages):
        return messages
    return tuple(
        {**m, "content": [{k: v for k, v in p.items() if k != "path"} if is_image(p) else p for p in m["content"]]}
        if isinstance(m.get("content"), list) else m
        for m in messages
    )  # fmt: skip
