"""The YAML case format: loading, JSON Schema validation, rendering, with file:line errors.

Only the data model is imported eagerly: loading pulls in PyYAML, Jinja2 and jsonschema, which a
warm collection (parse cache hit) never needs.
"""

from __future__ import annotations

from typing import Any

from .model import (
    AssertionSpec,
    Case,
    LoadedSuite,
    Messages,
    MessageTemplate,
    PromptVariant,
    RepeatSpec,
    Suite,
    bindings,
)

__all__ = [
    "AssertionSpec", "Case", "LoadedSuite", "MessageTemplate", "Messages", "PromptVariant", "RepeatSpec",
    "Suite", "bindings", "load_suite", "suite_schema",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name == "load_suite":
        from .load import load_suite

        return load_suite
    if name == "suite_schema":
        from .validate import suite_schema

        return suite_schema
    raise AttributeError(name)
