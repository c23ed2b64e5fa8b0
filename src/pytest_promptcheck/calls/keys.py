"""The keys of a call, one name per job.

- :func:`run_key`: the identity of a call within a run: identical calls are made once.
- :func:`cache_key`: the response cache's key, which adds the model's identity (weights' content
  hash, a function's source) so a changed model never reuses an old answer. The ``stream`` param
  is left out: a streamed answer is the same output as a non-streamed one (a cached answer just has
  no time to first token; the ``ttft_ms`` assertion says so).
- :func:`snapshot_key`: where a call's output is stored in a suite's snapshot file.

The first two include the tools a call sends and its tool choice (a changed tool description is a
new call).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..config_models import ModelConfig
from ..providers.base import ModelRequest
from ..providers.content import key_form


def run_key(model: ModelConfig, request: ModelRequest) -> str:
    """Identity of a call: same model, messages, params, seed and sample index → same answer."""
    blob = json.dumps(
        [model.name, model.describe(), key_form(request.messages), request.params, request.seed, request.sample_index,
         *_tool_part(request)],
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_key(model: ModelConfig, request: ModelRequest, identity: str) -> str:
    """The cache key of a call (see the module docstring for what goes in)."""
    blob = json.dumps(
        [model.provider, model.describe(), model.resolved("base_url") if model.base_url else None, model.options,
         _output_params(request.params), key_form(request.messages), request.seed, request.sample_index, identity,
         *_tool_part(request)],
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()


def _tool_part(request: ModelRequest) -> list[Any]:
    """The tools and tool choice, only when a call sends tools: keys of tool-less calls stay as they were."""
    return [{"tools": list(request.tools), "tool_choice": request.tool_choice}] if request.tools else []


def _output_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "stream"} if "stream" in params else params


def snapshot_key(item_id: str, sample: int, binding: dict[str, Any], many: bool, turn: int | None = None) -> str:
    """The item id, plus ``#<sample>[k=v,...]`` when the item makes several calls (``@turn<n>`` in a conversation)."""
    if not many:
        return item_id
    suffix = ",".join(f"{k}={v}" for k, v in binding.items())
    return f"{item_id}#{sample}" + (f"[{suffix}]" if suffix else "") + (f"@turn{turn}" if turn is not None else "")
