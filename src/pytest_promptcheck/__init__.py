"""pytest-promptcheck: prompt regression tests and checkpoint gates as pytest items."""

from __future__ import annotations

__version__ = "0.1.0"
