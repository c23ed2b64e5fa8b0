"""``RunTally``: prompt-item outcomes per model, counted from reports (the summary when nothing else is).

Built from test reports (not items), so under pytest-xdist the controller shows the same numbers::

    model  passed  failed  errors  pass rate
    base        3       2       0        60%
    tuned       5       0       0       100%
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest


@dataclass(eq=False)  # plugins must be hashable (pluggy keeps them in sets)
class RunTally:
    """Counts prompt-item outcomes per model from the reports; registered as a plugin."""

    outcomes: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        model = props.get("promptcheck_model")
        if not isinstance(model, str):
            return
        if report.when == "call":
            self.outcomes[model][report.outcome] += 1
        elif report.failed:  # setup/teardown failure: an error, e.g. the provider failed
            self.outcomes[model]["error"] += 1
        elif report.skipped and report.when == "setup":
            self.outcomes[model]["skipped"] += 1

    def lines(self) -> list[str]:
        """The table shown in the summary (see the module docstring)."""
        if not self.outcomes:
            return []
        width = max(5, *(len(m) for m in self.outcomes))
        rows = [f"{'model':<{width}}  passed  failed  errors  pass rate"]
        for model in sorted(self.outcomes):
            counts = self.outcomes[model]
            judged = counts["passed"] + counts["failed"]
            rate = f"{counts['passed'] / judged:.0%}" if judged else "-"
            rows.append(
                f"{model:<{width}}  {counts['passed']:>6}  {counts['failed']:>6}  {counts['error']:>6}  {rate:>9}"
            )
        return rows
