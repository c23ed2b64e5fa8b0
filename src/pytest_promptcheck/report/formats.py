"""``--pc-report FORMAT:PATH`` files and junitxml properties: the run summary for machines.

Formats live in ``WRITERS``: ``json`` is the summary as JSON (``summary_json``), ``html`` the
self-contained page (``html.py``), ``md`` the pull-request summary (``markdown.py``). Writers get the
summary and the run's item records. An unknown format is a usage error at startup, so a typo never
costs a full run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..compare import IMPROVEMENT, KNOWN_GAP, REGRESSION, Comparison, Counts, Pair, PairedStats
from ..metrics import Bias, Consistency, Rate, Record, Usage, VariableBias
from ..thresholds import Breach

if TYPE_CHECKING:
    from ..aggregate import RunSummary

JSON_VERSION = 1
# Derived values (properties) that the JSON carries next to a dataclass's fields.
_DERIVED: dict[type, tuple[str, ...]] = {
    Rate: ("rate", "interval"),
    Consistency: ("stability",),
    VariableBias: ("gap",),
    Bias: ("max_gap", "change_rate"),
    Usage: ("mean_tokens",),
    Counts: ("n", "baseline_rate", "candidate_rate", "delta"),
    PairedStats: ("p_value",),
    Breach: ("line",),
}


def parse_reports(values: list[str], cwd: Path) -> list[tuple[str, Path]]:
    """``["json:out/run.json"]`` -> ``[("json", cwd/out/run.json)]``; bad values are usage errors."""
    parsed = []
    for value in values:
        fmt, sep, path = value.partition(":")
        if not sep or not path:
            raise pytest.UsageError(
                f"--pc-report {value!r}: expected FORMAT:PATH, e.g. --pc-report json:promptcheck.json"
            )
        if fmt not in WRITERS:
            raise pytest.UsageError(f"--pc-report {value!r}: unknown format {fmt!r}; available: {', '.join(WRITERS)}")
        parsed.append((fmt, cwd / path))
    return parsed


def write_report(fmt: str, path: Path, summary: RunSummary, records: Sequence[Record] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    WRITERS[fmt](path, summary, list(records))


def _write_json(path: Path, summary: RunSummary, records: list[Record]) -> None:
    path.write_text(json.dumps(summary_json(summary), indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _write_html(path: Path, summary: RunSummary, records: list[Record]) -> None:
    from .html import write_html

    write_html(path, summary, records)


def _write_md(path: Path, summary: RunSummary, records: list[Record]) -> None:
    from .markdown import write_markdown

    write_markdown(path, summary, records)


WRITERS: dict[str, Callable[[Path, RunSummary, list[Record]], None]] = {
    "json": _write_json,
    "html": _write_html,
    "md": _write_md,
}


def summary_json(summary: RunSummary) -> dict[str, Any]:
    """The run summary as JSON: the same numbers as the terminal section."""
    return {
        "version": JSON_VERSION,
        "exit_status": summary.exit_status,
        "models": _plain(summary.models),
        "by_variant": _plain(summary.by_variant),
        "by_tag": _plain(summary.by_tag),
        "thresholds": {"breaches": _plain(summary.breaches), "notes": list(summary.notes)},
        "comparison": _comparison(summary.comparison) if summary.comparison else None,
        "gate": {
            **(_plain(summary.gate) if summary.gate else {"verdict": None}),
            "enforced": summary.enforced,
            **_plain(summary.settings),
        },
    }


def _comparison(comparison: Comparison) -> dict[str, Any]:
    stats = comparison.stats
    return {
        "baseline": comparison.baseline,
        "candidate": comparison.candidate,
        "cases": stats.cases,
        **_plain(stats.counts),
        "interval": [stats.lower, stats.upper],
        "interval_confidence": 1 - 2 * stats.alpha,
        "interval_method": "Tango score, design-effect adjusted for variants of one case",
        "design_effect": stats.design_effect,
        "p_value": stats.p_value,
        "by_variant": _plain(stats.by_variant),
        "by_tag": _plain(comparison.by_tag),
        "regressions": [_pair(p) for p in comparison.of_kind(REGRESSION)],
        "improvements": [_pair(p) for p in comparison.of_kind(IMPROVEMENT)],
        "known_gaps": [_pair(p) for p in comparison.of_kind(KNOWN_GAP)],
        "unpaired": _plain(comparison.unpaired),
    }


def _pair(pair: Pair) -> dict[str, Any]:
    def side(record: dict[str, Any]) -> dict[str, Any]:
        outputs = [c["output"] for c in record["calls"]]
        return {"item": record["item"], "outcome": record["outcome"], "outputs": outputs}

    return {"suite": pair.suite, "case": pair.case, "variant": pair.variant, "tags": list(pair.tags),
            "baseline": side(pair.baseline), "candidate": side(pair.candidate)}  # fmt: skip


def _plain(value: Any) -> Any:
    """Dataclasses (with their derived values), enums, tuples and dicts as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
        for name in _DERIVED.get(type(value), ()):
            attr = getattr(value, name)
            out[name] = _plain(attr() if callable(attr) else attr)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def junit_properties(config: pytest.Config, summary: RunSummary) -> None:
    """The headline of the summary as ``<property>`` entries of junitxml's testsuite (when --junitxml)."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - a pytest without junitxml's stash key
        return
    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    for name, value in _properties(summary):
        xml.add_global_property(name, value)


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
        props += [("promptcheck.regression", p.candidate["item"]) for p in summary.comparison.of_kind(REGRESSION)]
    if summary.gate is not None:
        props.append(("promptcheck.gate", f"{summary.gate.verdict.value} (exit {summary.gate.exit_status})"))
        props.append(("promptcheck.gate_enforced", str(summary.enforced).lower()))
    return props
