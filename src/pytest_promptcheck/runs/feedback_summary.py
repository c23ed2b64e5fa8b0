"""What ``import-feedback`` read: one summary per import in ``.promptcheck/feedback/`` (all rows, kept or not).

Each summary (``<feedback file stem>.summary.json``, written by :mod:`..cli.feedback` through
:mod:`..outputs.artifacts`)::

    {"source": "feedback.jsonl", "into": "tests/test_triage.prompts.yaml", "rows_read": 120, "kept": 112,
     "skipped": {"duplicate id": 3, "not valid JSON": 5}, "written": true,
     "counted": 115, "tags": {"account": 40, "billing": 72}, "vars": {"category": {"login": 30, "refund": 82}}}

``tags`` and ``vars`` count every row that parsed as an object (``counted`` of them), so the distribution is the
feedback's, not only the part that became cases; ``vars`` counts the case vars named in
``[tool.promptcheck.analysis] vars`` at import time. The representativeness check reads them all.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FEEDBACK_DIR = ".promptcheck/feedback"
SUFFIX = ".summary.json"


@dataclass(frozen=True)
class FeedbackCounts:
    rows: int = 0  # rows counted in tags and vars (every row that parsed as an object)
    tags: dict[str, int] = field(default_factory=dict)
    vars: dict[str, dict[str, int]] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    def __add__(self, other: FeedbackCounts) -> FeedbackCounts:
        names = sorted(set(self.vars) | set(other.vars))
        return FeedbackCounts(
            self.rows + other.rows,
            dict(Counter(self.tags) + Counter(other.tags)),
            {n: dict(Counter(self.vars.get(n, {})) + Counter(other.vars.get(n, {}))) for n in names},
            self.files + other.files,
        )


def count_rows(rows: list[dict[str, Any]], names: tuple[str, ...]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Per tag and per chosen var value, how many of ``rows`` (parsed feedback objects) carry it."""
    tags: Counter[str] = Counter()
    values: dict[str, Counter[str]] = {n: Counter() for n in names}
    for row in rows:
        found = row.get("tags")
        if isinstance(found, list):
            tags.update(t for t in dict.fromkeys(found) if isinstance(t, str))
        found_vars = row.get("vars")
        variables: dict[str, Any] = found_vars if isinstance(found_vars, dict) else {}
        for name in names:
            if name in variables:
                values[name][str(variables[name])] += 1
    return dict(sorted(tags.items())), {n: dict(sorted(c.items())) for n, c in values.items()}


def read_feedback(root: Path) -> FeedbackCounts | None:
    """All import summaries under ``root/.promptcheck/feedback`` added up; None when there are none."""
    folder = root / FEEDBACK_DIR
    total: FeedbackCounts | None = None
    for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # an unreadable summary costs its own counts, not the report
        if not isinstance(data, dict):
            continue
        counts = FeedbackCounts(
            int(data.get("counted") or 0),
            {str(k): int(v) for k, v in (data.get("tags") or {}).items()},
            {str(n): {str(k): int(v) for k, v in vs.items()} for n, vs in (data.get("vars") or {}).items()},
            (path.name,),
        )
        total = counts if total is None else total + counts
    return total
