"""The headline of the run summary as junitxml ``<property>`` entries of the testsuite (with ``--junitxml``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ..runs.compare import REGRESSION

if TYPE_CHECKING:
    from ..runs.summary import RunSummary
    from .redact import Redactor


def junit_properties(config: pytest.Config, summary: RunSummary, redactor: Redactor) -> None:
    """The headline of the summary as ``<property>`` entries of junitxml's testsuite (when --junitxml)."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - a pytest without junitxml's stash key
        return
    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    for name, value in _properties(summary):
        xml.add_global_property(redactor.text(name), redactor.text(value))  # junitxml writes them as given


def _properties(summary: RunSummary) -> list[tuple[str, str]]:
    props = []
    for model, found in summary.models.items():
        rate = found.accuracy.rate
        low, high = rate.interval
        props.append((f"promptcheck.pass_rate.{model}", f"{rate.passed}/{rate.judged} [{low:.3f}, {high:.3f}]"))
    props += [("promptcheck.threshold_breach", b.line()) for b in summary.breaches]
    if summary.comparison is not None:
        stats = summary.comparison.stats
        props += [
            ("promptcheck.delta", f"{stats.counts.delta:+.4f} [{stats.lower:+.4f}, {stats.upper:+.4f}]"),
            ("promptcheck.p_value", f"{stats.p_value:.4g}"),
            ("promptcheck.regressions", str(stats.counts.b)),
            ("promptcheck.improvements", str(stats.counts.c)),
        ]
        props += [("promptcheck.regression", p.candidate.item) for p in summary.comparison.of_kind(REGRESSION)]
    if summary.gate is not None:
        props.append(("promptcheck.gate", f"{summary.gate.verdict.value} (exit {summary.gate.exit_status})"))
        props.append(("promptcheck.gate_enforced", str(summary.enforced).lower()))
    return props
