"""Content parts (text and images) in each wire protocol's form.

Our neutral parts (see ``base.Message``): ``{"type": "text", "text"}``, ``{"type": "image",
"media_type", "data"}`` (base64) and ``{"type": "image", "url"}``. Chat Completions takes
``image_url`` parts (a data URL for bytes), the Responses API ``input_text`` / ``input_image``,
Anthropic ``image`` blocks with a base64 or url source. A string content stays a string.
"""

from __future__ import annotations

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
        if not is_image(part):
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif "url" in part:
            blocks.append({"type": "image", "source": {"type": "url", "url": part["url"]}})
        else:
            source = {"type": "base64", "media_type": part["media_type"], "data": part["data"]}
            blocks.append({"type": "image", "source": source})
    return blocks
