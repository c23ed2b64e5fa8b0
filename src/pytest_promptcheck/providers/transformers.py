"""The ``transformers`` provider (being written)."""

from __future__ import annotations

from typing import Any

from ..config import ModelConfig
from ..errors import ConfigError
from .base import ProviderContext


def create(model: ModelConfig, context: ProviderContext) -> Any:
    raise ConfigError(f"model {model.name!r}: the transformers provider is not available yet")
