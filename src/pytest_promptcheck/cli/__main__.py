"""``python -m pytest_promptcheck.cli``: the ``promptcheck`` command without its console script.

``python -m`` puts the current folder first on ``sys.path``; the console script does not. Taking
it off before anything else is imported keeps a project module named like a library (``yaml.py``,
``jsonschema.py``) from running in the library's place, in ``lint`` above all, which must run none
of the project's code. Commands that import the project's own Python add its rootdir themselves.
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]

from .main import main  # noqa: E402  (after the sys.path fix, on purpose)

sys.exit(main())
