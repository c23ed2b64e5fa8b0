"""Model providers (one per module) and their registry."""

from __future__ import annotations

from .base import Completion, ModelRequest, Provider, ProviderContext, Usage
from .registry import ProviderRegistry

__all__ = ["Completion", "ModelRequest", "Provider", "ProviderContext", "ProviderRegistry", "Usage"]
