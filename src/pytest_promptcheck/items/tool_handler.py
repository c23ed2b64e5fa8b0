"""``tool_handler: module:function``: a turn's tool results computed in Python.

Resolved like a ``python`` model's function: imported with the rootdir importable, and refused
unless it is a function defined in Python, in a file under the project's roots (rootdir and
``allow_paths``), callable as ``function(call, vars)``. So ``os:system`` or ``subprocess:run`` is a
collection error, never a call. ``promptcheck lint`` never imports it (it lists what it would).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..providers.python import import_function
from ..suites.limits import SuitePolicy

SIGNATURE = "def handle(call, vars) -> str"  # call: {"name", "arguments", "raw_arguments", "id"}


def resolve_handler(ref: str, rootdir: Path, policy: SuitePolicy | None) -> Callable[..., Any]:
    """The handler function, checked; raises :class:`ConfigError` saying what is wrong and the fix."""
    policy = policy or SuitePolicy.for_root(rootdir)
    what = f"tool_handler {ref!r}"
    try:
        target = import_function(ref, rootdir, what="tool_handler", expected=f"a function like {SIGNATURE}")
    except ConfigError as exc:
        if "cannot import" not in str(exc):
            raise
        raise ConfigError(f"{exc}; point tool_handler at a function in the project, e.g. tools:weather") from None
    if not inspect.isfunction(target):
        kind = "a class" if inspect.isclass(target) else "a builtin" if inspect.isbuiltin(target) else "an object"
        raise ConfigError(
            f"{what} is {kind}, not a function defined in Python; point it at a function like {SIGNATURE}"
        )
    source = inspect.getsourcefile(target)
    if source is None or not policy.allows(Path(source).resolve()):
        raise ConfigError(
            f"{what} is defined outside the project ({source or 'no source file'}); a tool_handler must live "
            f"in the project ({', '.join(map(str, policy.roots))}) or a folder listed in [tool.promptcheck] allow_paths"
        )
    try:
        inspect.signature(target).bind(None, None)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{what} takes {inspect.signature(target)}, but it is called with (call, vars); write it as {SIGNATURE}"
        ) from None
    return target
