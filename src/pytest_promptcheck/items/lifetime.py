"""Keep the cyclic garbage collector off objects that live until the process ends anyway.

A 10,000-case run builds ~1M objects that stay alive to the end: the items, suites and rendered
prompts from collection, then a report, a verdict and a record per item. Every full collection
walks all of them again, and so does the interpreter's own teardown: measured on a 10,000-case
replay, ~3 s during the run, ~0.5 s in pytest's final ``gc.collect()`` calls and ~1.4 s of
interpreter exit. ``gc.freeze()`` after a last collection moves them out of the collector's sight.

Only where the process ends with the session: the ``pytest`` command (``python -m pytest`` too) or
an xdist worker. A program calling ``pytest.main()`` repeatedly, and pytester's in-process runs,
keep every object collectable: frozen objects are never freed before exit.
"""

from __future__ import annotations

import gc
import os
import sys

import pytest

_CONSOLE_MAIN = ("console_main", "_console_main")
_CONFIG_MODULE = os.path.join("_pytest", "config", "__init__.py")


def owns_process(config: pytest.Config) -> bool:
    """Whether this session's end is the process's end."""
    if any(type(p).__module__ == "_pytest.pytester" for p in config.pluginmanager.get_plugins()):
        return False  # an in-process run inside a test session that goes on
    if hasattr(config, "workerinput"):
        return True  # an xdist worker exits after its session
    frame = sys._getframe()
    while frame is not None:
        code = frame.f_code
        if code.co_name in _CONSOLE_MAIN and code.co_filename.endswith(_CONFIG_MODULE):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def freeze_survivors(config: pytest.Config) -> None:
    """Collect garbage once, then freeze what is left (after collection, and at session end)."""
    if owns_process(config):
        gc.collect()  # garbage with __del__ problems still reaches pytest's unraisable hook
        gc.freeze()
