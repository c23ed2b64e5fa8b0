"""Custom assertions: ``python: module:function``.

The function (``def`` or ``async def``) receives the output and the case context and returns bool,
a score in [0, 1], a dict ``{"pass", "score", "reason"}`` or an Outcome. Its own exceptions are real
bugs and keep their traceback. Functions may also be registered by name through
``pytest_promptcheck_register_assertions``.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from ..errors import ConfigError
from ..providers.python import import_function
from .base import AssertionRegistry, BadArgument, CheckContext, NotLoaded, PrepareContext


def _prepare_python(arg: Any, context: PrepareContext) -> Any:
    if not isinstance(arg, str):
        raise BadArgument(f"`python` needs `module:function`, got {arg!r}; e.g. `- python: checks:is_polite`")
    if context.lint:
        raise NotLoaded(f"would import {arg} (`python` assertion); not imported by lint")
    key = ("python", arg)
    if key not in context.cache:
        try:
            context.cache[key] = import_function(arg, context.rootdir, what="`python` assertion")
        except ConfigError as exc:
            raise BadArgument(str(exc)) from None
    return context.cache[key]


def python(output: str, function: Any, context: CheckContext) -> Any:
    __tracebackhide__ = True  # an exception in the user's function shows the user's frames
    result = function(output, context)
    if inspect.iscoroutine(result):  # `async def` checks run to completion here
        result = asyncio.run(result)
    return result


def register(registry: AssertionRegistry) -> None:
    registry.register("python", python, prepare=_prepare_python, example="`- python: checks:is_polite`")
