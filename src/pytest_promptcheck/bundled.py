"""The built-in providers and assertions, registered as an ordinary plugin through our own hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .providers.registry import ProviderRegistry
    from .verdicts.base import AssertionRegistry


@pytest.hookimpl(tryfirst=True)  # built-ins first, so third-party plugins can replace them
def pytest_promptcheck_register_providers(registry: ProviderRegistry) -> None:
    from .providers import anthropic, openai, python, transformers

    registry.register("python", python.create)
    registry.register("openai", openai.create)
    registry.register("anthropic", anthropic.create)
    registry.register("transformers", transformers.create)
    from .providers import azure_openai, bedrock  # the clouds (SDKs imported when a model is created)

    registry.register("azure-openai", azure_openai.create)
    registry.register("bedrock", bedrock.create)


@pytest.hookimpl(tryfirst=True)
def pytest_promptcheck_register_assertions(registry: AssertionRegistry) -> None:
    from .verdicts import custom, embedding, model_graded, operational, similarity, structure, text, tools

    for family in (text, structure, similarity, embedding, model_graded, operational, tools, custom):
        family.register(registry)
