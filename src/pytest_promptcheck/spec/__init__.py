"""The YAML case format: loading, JSON Schema validation, rendering, with file:line errors."""

from __future__ import annotations

from .load import LoadedSuite, bindings, load_suite
from .model import AssertionSpec, Case, MessageTemplate, PromptVariant, RepeatSpec, Suite
from .render import Messages, PromptRenderer, RenderError
from .validate import suite_schema

__all__ = [
    "AssertionSpec", "Case", "LoadedSuite", "MessageTemplate", "Messages", "PromptRenderer",
    "PromptVariant", "RenderError", "RepeatSpec", "Suite", "bindings", "load_suite", "suite_schema",
]  # fmt: skip
