"""How many calls may be in flight: per model when it starts, and per server.

``concurrency_limit`` is a model's starting limit (--pc-concurrency, its own setting, else by
backend, SPEC §3); ``EndpointCaps`` holds the shared caps of ``[tool.promptcheck.endpoints]``, one
for all the models one server serves. The adaptive part (429s halve a model's limit, successes win
it back) is ``retry.AdaptiveLimiter``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlparse

from ..config import ProjectConfig, endpoint_key
from ..config_models import ModelConfig
from ..errors import ConfigError

_LOCAL_SERVER_CONCURRENCY = 4  # local OpenAI-compatible servers choke at high concurrency
_DEFAULT_BATCH_SIZE = 16


def concurrency_limit(model: ModelConfig, project: ProjectConfig) -> int:
    """In-flight calls allowed for ``model``: --pc-concurrency, its own setting, else by backend (SPEC §3)."""
    if project.cli_concurrency:
        return project.cli_concurrency
    if model.concurrency:
        return int(model.concurrency)
    if model.provider == "transformers":
        return int(model.batch_size or _DEFAULT_BATCH_SIZE)
    host = urlparse(resolved_url(model)).hostname or ""
    if host in ("localhost", "::1") or host.startswith("127."):
        return _LOCAL_SERVER_CONCURRENCY
    return project.concurrency


def resolved_url(model: ModelConfig) -> str:
    """The base URL with ``${ENV}`` filled in, as the provider will use it ("" when unset or unresolvable:
    the provider reports that itself)."""
    try:
        return model.resolved("base_url") or ""
    except ConfigError:
        return ""


class EndpointCaps:
    """The shared caps of ``[tool.promptcheck.endpoints]``, one semaphore per server (made on the loop thread)."""

    def __init__(self, caps: Mapping[str, int]) -> None:
        self._caps = caps  # normalised base URL -> calls in flight, all models
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def of(self, model: ModelConfig) -> asyncio.Semaphore | None:
        """The shared cap of the server ``model`` calls, when ``[tool.promptcheck.endpoints]`` sets one."""
        caps = self._caps
        url = resolved_url(model) if caps else ""
        if not url or endpoint_key(url) not in caps:
            return None
        key = endpoint_key(url)
        cap = self._semaphores.get(key)
        if cap is None:
            cap = self._semaphores[key] = asyncio.Semaphore(caps[key])
        return cap
