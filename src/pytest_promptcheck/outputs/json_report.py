"""The run summary as JSON (``--pc-report json:PATH``): the same numbers as the terminal section."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from ..runs.compare import IMPROVEMENT, KNOWN_GAP, REGRESSION, Comparison, Counts, Pair, PairedStats
from ..runs.gate import Attempts
from ..runs.metrics import Bias, Consistency, Rate, Usage, VariableBias
from ..runs.record import ItemRecord
from ..runs.thresholds import Breach
from . import prompt_cost_text
from .analysis_report import analysis_json

if TYPE_CHECKING:
    from ..runs.summary import RunSummary

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
    Attempts: ("any_pass_chance",),
}


def summary_json(summary: RunSummary) -> dict[str, Any]:
    """The run summary as JSON: the same numbers as the terminal section."""
    return {
        "version": JSON_VERSION,
        "exit_status": summary.exit_status,
        "models": _as_json(summary.models),
        "by_variant": _as_json(summary.by_variant),
        "by_tag": _as_json(summary.by_tag),
        "thresholds": {"breaches": _as_json(summary.breaches), "notes": list(summary.notes)},
        "comparison": _comparison(summary.comparison) if summary.comparison else None,
        "prompt_cost": prompt_cost_text.as_json(summary.prompt_cost),
        "gate": {
            **(_as_json(summary.gate) if summary.gate else {"verdict": None}),
            "enforced": summary.enforced,
            **_as_json(summary.settings),
        },
        "analysis": analysis_json(summary.analysis) if summary.analysis else None,
    }


def _comparison(comparison: Comparison) -> dict[str, Any]:
    stats = comparison.stats
    return {
        "baseline": comparison.baseline,
        "candidate": comparison.candidate,
        "cases": stats.cases,
        **_as_json(stats.counts),
        "interval": [stats.lower, stats.upper],
        "interval_confidence": 1 - 2 * stats.alpha,
        "interval_method": "Tango score, design-effect adjusted for variants of one case",
        "design_effect": stats.design_effect,
        "p_value": stats.p_value,
        "by_variant": _as_json(stats.by_variant),
        "by_tag": _as_json(comparison.by_tag),
        "regressions": [_pair(p) for p in comparison.of_kind(REGRESSION)],
        "improvements": [_pair(p) for p in comparison.of_kind(IMPROVEMENT)],
        "known_gaps": [_pair(p) for p in comparison.of_kind(KNOWN_GAP)],
        "unpaired": _as_json(comparison.unpaired),
    }


def _pair(pair: Pair) -> dict[str, Any]:
    def side(record: ItemRecord) -> dict[str, Any]:
        return {"item": record.item, "outcome": record.outcome, "outputs": [c.output for c in record.calls],
                "reasons": [r for c in record.calls for r in c.failed_reasons()]}  # fmt: skip

    return {"suite": pair.suite, "case": pair.case, "variant": pair.variant, "tags": list(pair.tags),
            "baseline": side(pair.baseline), "candidate": side(pair.candidate)}  # fmt: skip


def _as_json(value: Any) -> Any:
    """Dataclasses (with their derived values), enums, tuples and dicts as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _as_json(getattr(value, f.name)) for f in fields(value)}
        for name in _DERIVED.get(type(value), ()):
            attr = getattr(value, name)
            out[name] = _as_json(attr() if callable(attr) else attr)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value
