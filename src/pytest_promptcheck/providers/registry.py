"""The provider registry, filled through ``pytest_promptcheck_register_providers`` (built-ins included)."""

from __future__ import annotations

from .base import ProviderFactory


class ProviderRegistry:
    """Maps a provider name (``openai``, ``python``, ...) to the factory that builds it for a model."""

    def __init__(self) -> None:
        self._factories: dict[str, ProviderFactory] = {}

    def register(self, name: str, factory: ProviderFactory, *, replace: bool = False) -> None:
        """Register ``factory`` under ``name``; a name already taken needs ``replace=True``."""
        if name in self._factories and not replace and self._factories[name] is not factory:
            raise ValueError(f"provider {name!r} is already registered; pass replace=True to override it")
        self._factories[name] = factory

    def get(self, name: str) -> ProviderFactory | None:
        return self._factories.get(name)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories
