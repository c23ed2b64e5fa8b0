"""The ``promptcheck`` section of pytest's terminal summary.

Built from test reports (not items), so under pytest-xdist the controller shows the same numbers::

    ============================ promptcheck ============================
    model  passed  failed  errors  pass rate
    base        3       2       0        60%
    tuned       5       0       0       100%
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..session import PromptSession


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


def write_summary(reporter: pytest.TerminalReporter, state: PromptSession) -> None:
    from ..aggregate import summary_of

    summary = summary_of(state.config)
    if state.project.dry_run:
        lines = state.dry_run_lines
    elif summary is not None:  # metrics, comparison and gate (report/summary.py)
        from .summary import lines as summary_lines

        lines = summary_lines(summary)
    else:
        lines = state.tally.lines()
    if not lines:
        return
    reporter.write_sep("=", "promptcheck")
    for line in lines:
        reporter.write_line(line)
