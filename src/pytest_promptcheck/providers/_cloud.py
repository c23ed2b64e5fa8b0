"""What the cloud providers (``azure-openai``, ``bedrock``) read from a model: its cloud keys, filled in.

The keys themselves and their file checks are in ``config_clouds``; a value that held ``${ENV}``
is checked here, once filled in, by the same functions.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..config_models import ModelConfig, interpolate


def option(
    model: ModelConfig, key: str, *, env: str | None = None, check: Callable[[str, str], str] | None = None
) -> str | None:
    """``model``'s cloud key ``key`` with ``${ENV}`` filled in, else the variable ``env`` (the SDK's own
    fallback, e.g. ``AZURE_OPENAI_ENDPOINT``); None when neither is set. ``check(value, where)`` validates it."""
    raw = model.options.get(key)
    where = f"model {model.name!r} {key}"
    value = interpolate(str(raw), what=where) if raw is not None else None
    if not value and env:
        value, where = os.environ.get(env) or None, env
    if value and check is not None:
        check(value, where)
    return value or None
