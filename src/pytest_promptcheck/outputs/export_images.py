"""Images in fine-tuning exports: the record's image stubs read back into data URLs.

Records keep an image as ``{"type": "image", "media_type", "sha256", "bytes", "path"}`` (no
megabytes of base64 in every results.jsonl line and report). A vision fine-tune needs the pixels:
OpenAI's chat format takes ``image_url`` parts with data URLs. So the export, and only the export,
reads each image again from its ``path`` (relative to the suite, through ``suites/files.py``: under
the project, regular, capped) and checks its sha256 against the record's: an image changed since
the run would train on something the model never saw, so that row is skipped and counted.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from ..suites.files import SuiteFileError, read_suite_file
from ..suites.limits import SuitePolicy

IMAGE_FORMATS = frozenset({"openai-chat"})  # the formats whose messages take image parts (OpenAI vision fine-tunes)


def has_image_stubs(messages: list[dict[str, Any]]) -> bool:
    return any(
        isinstance(m.get("content"), list)
        and any(isinstance(p, dict) and p.get("type") == "image" for p in m["content"])
        for m in messages
    )


def with_image_data(
    messages: list[dict[str, Any]], rootdir: Path, suite: str
) -> tuple[list[dict[str, Any]] | None, str]:
    """The messages with content parts in OpenAI's form (``text``; ``image_url`` data URL or URL), or
    (None, why) when an image cannot be read back as it was."""
    policy = SuitePolicy.for_root(rootdir)
    suite_dir = (rootdir / suite).parent
    out = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            out.append(message)
            continue
        parts: list[dict[str, Any]] = []
        for part in content:
            if not (isinstance(part, dict) and part.get("type") == "image"):
                parts.append({"type": "text", "text": str(part.get("text", "")) if isinstance(part, dict) else ""})
                continue
            url, why = _url(part, suite_dir, policy)
            if url is None:
                return None, why
            parts.append({"type": "image_url", "image_url": {"url": url}})
        out.append({**message, "content": parts})
    return out, ""


def _url(part: dict[str, Any], suite_dir: Path, policy: SuitePolicy) -> tuple[str | None, str]:
    if "url" in part:
        return str(part["url"]), ""
    path = part.get("path")
    if not path:
        return None, "image without a path in the record"
    try:
        data = read_suite_file(
            (suite_dir / str(path)).resolve(), policy, what="image", ref=str(path), key="image_bytes"
        )
    except SuiteFileError:
        return None, "image no longer readable"
    if hashlib.sha256(data).hexdigest() != part.get("sha256"):
        return None, "image changed since the run"
    return f"data:{part.get('media_type')};base64,{base64.b64encode(data).decode()}", ""
