"""Verdicts: assertion types, one module per family, a registry filled through the plugin hook, and checking."""

from __future__ import annotations

from .base import AssertionRegistry, BadArgument, CheckContext, Outcome, PrepareContext

__all__ = ["AssertionRegistry", "BadArgument", "CheckContext", "Outcome", "PrepareContext"]
