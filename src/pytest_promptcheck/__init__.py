"""pytest-promptcheck: prompt regression tests and checkpoint gates as pytest items.

The public API for plugins and conftest.py files, imported lazily (a suite-free pytest run imports
none of it)::

    from pytest_promptcheck import Outcome, BadArgument, CheckContext   # custom assertions
    from pytest_promptcheck import Completion, ModelRequest, Usage      # custom providers
    from pytest_promptcheck import ItemRecord, record_of                # reading run records
    from pytest_promptcheck import write_lineage, read_lineage          # what a checkpoint was trained on
    from pytest_promptcheck import LineageCallback                      # the same, from a transformers Trainer
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "AssertionRegistry": "verdicts.base",
    "BadArgument": "verdicts.base",
    "CheckContext": "verdicts.base",
    "Outcome": "verdicts.base",
    "PrepareContext": "verdicts.base",
    "Completion": "providers.base",
    "ModelRequest": "providers.base",
    "ProviderContext": "providers.base",
    "Usage": "providers.base",
    "ProviderRegistry": "providers.registry",
    "CallRecord": "runs.record",
    "ItemRecord": "runs.record",
    "record_of": "runs.record",
    "read_records": "runs.record",
    "Lineage": "runs.lineage",
    "write_lineage": "runs.lineage",
    "read_lineage": "runs.lineage",
    "LineageCallback": "runs.lineage_callback",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_promptcheck' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
