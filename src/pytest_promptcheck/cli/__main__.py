"""``python -m pytest_promptcheck.cli``: the ``promptcheck`` command without its console script."""

from __future__ import annotations

import sys

from .main import main

sys.exit(main())
