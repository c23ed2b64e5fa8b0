"""The ``promptcheck`` command: ``main`` in :mod:`.main`, one module per subcommand.

Nothing is imported here eagerly: ``python -m pytest_promptcheck.cli`` first takes the current
folder off ``sys.path`` (``__main__``), before any library is imported, so a project file named
like one (``yaml.py``) is never run in its place.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_parser", "main"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import main as module

        return getattr(module, name)
    raise AttributeError(name)
