"""The provider boundary: our request and completion types, and the Provider protocol.

Providers speak these dataclasses, never SDK objects, so the engine, assertions, records and
exports never depend on which SDK produced an output.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..config import ProjectConfig
from ..config_models import ModelConfig

# One chat message in our neutral form. ``role`` is system | user | assistant | tool; ``content``
# is a string or a list of content parts (``{"type": "text", "text": ...}``,
# ``{"type": "image", "media_type": ..., "data": <base64>}`` or ``{"type": "image", "url": ...}``);
# an assistant message may carry ``tool_calls`` (a list of ``{"id", "name", "arguments"}`` with
# arguments as the raw JSON text), and a ``tool`` message answers one with ``tool_call_id``,
# ``name`` and ``content``. Each provider translates this form to its wire protocol.
Message = dict[str, Any]
DEFAULT_BATCH_DISCOUNT = 0.5  # OpenAI's Batch API and Anthropic's Message Batches both bill half price


@dataclass(frozen=True)
class ToolCall:
    """One tool call a model made: ``arguments`` parsed from ``raw_arguments`` (None when invalid JSON)."""

    name: str
    raw_arguments: str
    arguments: Any = None
    id: str | None = None
    error: str | None = None  # why raw_arguments did not parse as a JSON object


@dataclass(frozen=True)
class ModelRequest:
    """One call: rendered messages for one model with its effective parameters."""

    messages: tuple[Message, ...]
    params: dict[str, Any] = field(default_factory=dict)
    timeout: float = 60.0
    seed: int | None = None
    sample_index: int = 0
    case_id: str | None = None  # for messages and records only (e.g. a replay miss names the case)
    # Tools in OpenAI's flat function form ({"name", "description", "parameters"}), and the choice:
    # "auto" | "required" | "none" | {"name": ...}; None leaves the provider's default.
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: Any = None


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class Completion:
    """What a model answered, in our terms; ``latency_ms`` is filled by the engine when a provider leaves it."""

    output: str
    finish_reason: str | None = None
    usage: Usage = Usage()
    latency_ms: float | None = None
    served_model: str | None = None
    cached: bool = False
    tool_calls: tuple[ToolCall, ...] = ()
    ttft_ms: float | None = None  # time to the first streamed token; None when not streamed
    batch_id: str | None = None  # answered inside this provider batch (calls/batch.py): priced with its discount

    def cost(self, price: dict[str, float] | None) -> float | None:
        """USD cost from a model's ``price`` (per million tokens), or None when unknown; a batched answer
        costs ``1 - price.batch_discount`` of that (default 0.5: half price)."""
        if not price or self.usage.input_tokens is None or self.usage.output_tokens is None:
            return None
        share = 1.0 - float(price.get("batch_discount", DEFAULT_BATCH_DISCOUNT)) if self.batch_id else 1.0
        return (
            share
            * (
                self.usage.input_tokens * float(price.get("input_per_mtok", 0.0))
                + self.usage.output_tokens * float(price.get("output_per_mtok", 0.0))
            )
            / 1_000_000
        )


@dataclass(frozen=True)
class ProviderContext:
    """What a provider factory may need besides its model's configuration."""

    project: ProjectConfig
    rootdir: Path


class Provider(Protocol):
    """A model backend. One instance per configured model and process; calls may run concurrently."""

    async def complete(self, request: ModelRequest) -> Completion:
        """Answer one request, or raise :class:`~pytest_promptcheck.errors.ProviderError`."""
        ...

    async def aclose(self) -> None:
        """Release clients and connections at the end of the session."""
        ...


ProviderFactory = Callable[[ModelConfig, ProviderContext], Provider]

_MAX_RETRY_AFTER_S = 600.0  # a server asking for more than 10 minutes is treated as asking for 10


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds a server asks us to wait: ``retry-after-ms``, else ``Retry-After`` (seconds or HTTP date).

    Parsed defensively: fractional seconds ("0.5"), zero ("0.0" means *now*, not a default),
    negative or unparseable values give None, so the engine falls back to its own backoff.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0 and math.isfinite(value):
            return min(value, _MAX_RETRY_AFTER_S)
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        value = when.timestamp() - (time.time() if now is None else now)
        value = max(value, 0.0)
    if value < 0 or not math.isfinite(value):
        return None
    return min(value, _MAX_RETRY_AFTER_S)
