"""The ``python`` provider: any callable ``module:function`` (your app, a pipeline, a test stub).

The function receives ``messages`` (list of ``{"role", "content"}``) and ``params`` (dict) and
returns the output text, or a dict with ``output`` and optional ``usage`` (``input_tokens``,
``output_tokens``), ``finish_reason``, ``latency_ms``, ``ttft_ms`` and ``tool_calls``. It may be
``async def``. A user message with images has content parts (``{"type": "image", "media_type",
"data"}`` ...) as its ``content``: the function is the user's own app, which decides what to do
with them.

Tools: a suite's ``tools`` and ``tool_choice`` reach the function in ``params`` (under those names,
in the suite's flat form), since it is the user's own code that decides how to use them; it answers
calls as ``tool_calls: [{"name", "arguments" (a mapping or JSON text), "id"}]`` (``output`` may then
be left out). It may also return a :class:`~.base.Completion`. In a multi-turn case (``turns:``)
``messages`` holds the history in the neutral form: assistant messages with ``tool_calls``, then
``tool`` messages (``tool_call_id``, ``name``, ``content``) answering them.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config_models import ModelConfig
from ..errors import ConfigError
from .base import Completion, ModelRequest, ProviderContext, ToolCall, Usage
from .tool_calls import tool_call

SIGNATURE = "def generate(messages, params) -> str | dict"  # what a python model's function looks like


def import_function(ref: str, rootdir: Path, *, what: str, expected: str = "") -> Callable[..., Any]:
    """Import ``module:function`` (``module:Class.method`` too), with the rootdir importable."""
    module_name, sep, qualname = ref.partition(":")
    if not sep or not module_name or not qualname:
        raise ConfigError(f"{what}: {ref!r} is not `module:function` (e.g. myapp.llm:generate)")
    root = str(rootdir)
    if root not in sys.path:
        sys.path.insert(0, root)  # like pytest's rootdir conftest imports: user code lives there
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{what}: cannot import module {module_name!r}: {exc}") from None
    except SyntaxError as exc:
        raise ConfigError(
            f"{what}: module {module_name!r} has a syntax error at {exc.filename}:{exc.lineno}: {exc.msg}"
        ) from None
    for part in qualname.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigError(f"{what}: module {module_name!r} has no attribute {qualname!r}") from None
    if not callable(target):
        raise ConfigError(f"{what}: {ref!r} is not callable" + (f"; point it at {expected}" if expected else ""))
    return target  # type: ignore[no-any-return]


def import_model_function(model: ModelConfig, rootdir: Path) -> Callable[..., Any]:
    """The model's function, imported and checked: a Python function (or coroutine function) callable as
    ``function(messages, params)``. Anything else (``os:system``, a class, a one-parameter function) is
    refused here, before it could ever be called with a prompt."""
    if not model.function:
        raise ConfigError(f'model {model.name!r} (python): set `function = "module:function"`')
    ref = model.resolved("function") or ""
    what = f"model {model.name!r}"
    target = import_function(ref, rootdir, what=f"{what} (python) function", expected=f"a function like {SIGNATURE}")
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        kind = "a class" if inspect.isclass(target) else "a builtin" if inspect.isbuiltin(target) else "an object"
        kind += " (not a function defined in Python)"
        raise ConfigError(f"{what} (python): {ref!r} is {kind}; point `function` at a function like {SIGNATURE}")
    try:
        inspect.signature(target).bind(None, None)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{what} (python): {ref!r} takes {_signature(target)}, but it is called with (messages, params); "
            f"write it as {SIGNATURE}"
        ) from None
    return target


def _signature(target: Callable[..., Any]) -> str:
    try:
        return str(inspect.signature(target))
    except (TypeError, ValueError):
        return "(?)"


class PythonProvider:
    """Calls a Python function; sync functions run in a worker thread so the engine loop stays free."""

    def __init__(self, model: ModelConfig, context: ProviderContext) -> None:
        self.model = model
        self.function = import_model_function(model, context.rootdir)
        self.is_async = inspect.iscoroutinefunction(self.function)

    async def complete(self, request: ModelRequest) -> Completion:
        messages = [dict(m) for m in request.messages]
        params = dict(request.params)
        if request.seed is not None:
            params.setdefault("seed", request.seed)
        if request.tools:
            params.setdefault("tools", [dict(t) for t in request.tools])
            if request.tool_choice is not None:
                params.setdefault("tool_choice", request.tool_choice)
        # The clock runs around the function only, not while a worker thread is awaited: latency is
        # the model's own time, whatever else the run does.
        if self.is_async:
            start = time.perf_counter()
            result = await self.function(messages, params)
            elapsed = time.perf_counter() - start
        else:
            result, elapsed = await asyncio.to_thread(_timed, self.function, messages, params)
        completion = _to_completion(result, self.model)
        if completion.latency_ms is None:
            completion = replace(completion, latency_ms=elapsed * 1000)
        return completion

    def identity(self) -> str:
        """What the response cache keys on: the function's module:qualname and a hash of its source."""
        from .identity import function_identity

        return function_identity(self.function)

    async def aclose(self) -> None:
        return None


def _timed(function: Callable[..., Any], messages: list[dict[str, Any]], params: dict[str, Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = function(messages, params)
    return result, time.perf_counter() - start


def _to_completion(result: Any, model: ModelConfig) -> Completion:
    if isinstance(result, str):
        return Completion(output=result, finish_reason="stop")
    if isinstance(result, Completion):
        return result
    if isinstance(result, dict) and "output" not in result and isinstance(result.get("tool_calls"), list):
        result = {**result, "output": ""}  # a reply that is only tool calls
    if isinstance(result, dict) and isinstance(result.get("output"), str):
        usage = result.get("usage") or {}
        return Completion(
            output=result["output"],
            tool_calls=returned_tool_calls(result.get("tool_calls"), model),
            finish_reason=result.get("finish_reason", "stop"),
            usage=Usage(usage.get("input_tokens"), usage.get("output_tokens")),
            latency_ms=result.get("latency_ms"),
            ttft_ms=result.get("ttft_ms"),  # an app that streams may report its time to first token
        )
    raise TypeError(
        f"python model {model.name!r} ({model.function}) returned {type(result).__name__}; "
        "return the output text or a dict with an 'output' string"
    )


def returned_tool_calls(calls: Any, model: ModelConfig) -> tuple[ToolCall, ...]:
    if calls is None:
        return ()
    if not isinstance(calls, list) or not all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in calls):
        raise TypeError(
            f"python model {model.name!r} ({model.function}) returned tool_calls {calls!r:.120}; "
            "return a list of {'name': ..., 'arguments': {...}} mappings"
        )
    return tuple(tool_call(c["name"], c.get("arguments"), c.get("id")) for c in calls)


def create(model: ModelConfig, context: ProviderContext) -> PythonProvider:
    return PythonProvider(model, context)
