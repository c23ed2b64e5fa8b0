"""The ``promptcheck`` part of pytest's terminal summary, in one order for every run.

``write_summary`` gets every part already rendered and decides the order: the section (the dry-run
listing, else the run summary of :mod:`.summary_text`, else the outcome tally), then the lines of
snapshots, the response cache and run record, cassettes and the export::

    ============================ promptcheck ============================
    model  items  passed  failed  errors  pass rate  95% interval
    ...
    gate: PASS (exit 0)
      - no significant regression (one-sided exact McNemar p = 1, alpha 0.05)
    promptcheck cache: 0/72 calls from cache (0%)
    promptcheck run record: .promptcheck/runs/20261201T194329.187Z-d29465 (72 calls)
    promptcheck export: 4 rows -> out.jsonl from 4 failing calls (side: candidate)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from .redact import Redactor


def write_summary(
    reporter: pytest.TerminalReporter, section: Sequence[str], after: Iterable[Sequence[str]], redactor: Redactor
) -> None:
    """``section`` under a ``promptcheck`` separator (left out when empty), then each group of ``after``.

    Every line is scrubbed: the summary quotes outputs (regressions), which may echo a secret.
    """
    if section:
        reporter.write_sep("=", "promptcheck")
        for line in section:
            reporter.write_line(redactor.text(line))
    for lines in after:
        for line in lines:
            reporter.write_line(redactor.text(line))
