"""Hook specifications for extending pytest-promptcheck (providers, assertions).

Implement them in a ``conftest.py`` or in a package's ``pytest11`` plugin. Registrations made in a
conftest.py apply to the suites under its directory, like its fixtures. The built-in providers and
assertions are registered through these same hooks (see :mod:`pytest_promptcheck.bundled`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .providers.registry import ProviderRegistry
    from .verdicts.base import AssertionRegistry


@pytest.hookspec
def pytest_promptcheck_register_providers(registry: ProviderRegistry) -> None:
    """Register model providers.

    :param registry: call ``registry.register(name, factory)``; ``factory(model_config, context)``
        returns an object with ``async complete(request) -> Completion`` and ``async aclose()``.
    :return: nothing; results are ignored.
    """


@pytest.hookspec
def pytest_promptcheck_register_assertions(registry: AssertionRegistry) -> None:
    """Register assertion types usable in suites as ``- name: argument``.

    :param registry: call ``registry.register(name, check, prepare=None, arg="required")``;
        ``check(output, arg, context)`` returns bool, a score in [0, 1], a dict with ``pass``
        (and ``score``, ``reason``) or an ``Outcome``.
    :return: nothing; results are ignored.
    """
