"""Suite ``metrics:`` thresholds (SPEC §6): which model they bind, what each key bounds, breaches.

A threshold applies to the candidate when one is configured, else to every model; ``models:
[...]`` on the metric overrides that. ``by: tags | variant | model`` checks the bound on every
group as well as on the whole suite. Bounds are on point estimates (the interval is shown next to
the accuracy in the summary)::

    accuracy:    {min}                 pass rate of items
    consistency: {min}                 share of repeated items whose verdict never flips
    bias:        {max_gap, max}        pass-rate gap between counterfactual values; output-change rate
    latency:     {p50_ms, p95_ms, max_ms}
    ttft:        {p50_ms, p95_ms}      time to first token of the streamed calls
    tokens:      {max}                 mean input + output tokens per call
    cost:        {max}                 total USD cost of the model's calls in the suite
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from . import metrics
from .record import ItemRecord

# (metric, key) -> (how to read the value from the scope's records, "min" or "max" bound).
_Reader = Callable[[list[ItemRecord]], "float | None"]
_BOUNDS: dict[tuple[str, str], tuple[_Reader, str]] = {
    ("accuracy", "min"): (lambda rs: metrics.accuracy(rs).rate.rate, "min"),
    ("consistency", "min"): (lambda rs: _opt(metrics.consistency(rs), "stability"), "min"),
    ("bias", "max_gap"): (lambda rs: _opt(metrics.bias(rs), "max_gap"), "max"),
    ("bias", "max"): (lambda rs: _opt(metrics.bias(rs), "change_rate"), "max"),
    ("latency", "p50_ms"): (lambda rs: _opt(metrics.latency(rs), "p50_ms"), "max"),
    ("latency", "p95_ms"): (lambda rs: _opt(metrics.latency(rs), "p95_ms"), "max"),
    ("latency", "max_ms"): (lambda rs: _opt(metrics.latency(rs), "max_ms"), "max"),
    ("ttft", "p50_ms"): (lambda rs: _opt(metrics.ttft(rs), "p50_ms"), "max"),
    ("ttft", "p95_ms"): (lambda rs: _opt(metrics.ttft(rs), "p95_ms"), "max"),
    ("tokens", "max"): (lambda rs: metrics.usage(rs).mean_tokens, "max"),
    ("cost", "max"): (lambda rs: metrics.usage(rs).cost, "max"),
}
_SCOPE_KEYS = {"by", "models"}


def _opt(value: Any, attr: str) -> float | None:
    return None if value is None else float(getattr(value, attr))


@dataclass(frozen=True)
class Breach:
    """One threshold not met; ``line()`` is what the summary prints."""

    suite: str
    model: str
    metric: str
    key: str
    group: str | None  # "tag billing", "variant terse", or None for the whole suite
    value: float
    threshold: float

    def line(self) -> str:
        where = f"{self.metric}[{self.group}]" if self.group else self.metric
        op = "<" if self.key == "min" else ">"
        return (
            f"{self.suite}: model {self.model}: {where} = {_fmt(self.key, self.value)} "
            f"{op} {self.key} {_fmt(self.key, self.threshold)}"
        )


def _fmt(key: str, value: float) -> str:
    return f"{value:.0f} ms" if key.endswith("_ms") else f"{value:.4g}" if key == "max" else f"{value:.3f}"


def check(records: list[ItemRecord], candidate: str | None) -> tuple[list[Breach], list[str]]:
    """Breaches of every suite's thresholds, and notes on thresholds that cannot be read."""
    breaches: list[Breach] = []
    notes: list[str] = []
    for suite, suite_records in metrics.group_by(records, "suite").items():
        spec = suite_records[0].suite_metrics
        for metric, bounds in sorted(spec.items()):
            found, unused = _check_metric(suite, metric, bounds, suite_records, candidate)
            breaches += found
            notes += [f"{suite}: metrics.{metric}.{key} is not a bound of {metric}; ignored" for key in unused]
    return breaches, notes


def _check_metric(
    suite: str, metric: str, bounds: dict[str, Any], records: list[ItemRecord], candidate: str | None
) -> tuple[list[Breach], list[str]]:
    bound_keys = [k for k in bounds if (metric, k) in _BOUNDS]
    unused = sorted(k for k in bounds if k not in _SCOPE_KEYS and (metric, k) not in _BOUNDS)
    models = _bound_models(bounds.get("models"), records, candidate)
    breaches = [
        breach
        for model, model_records in metrics.group_by(records, "model").items()
        if model in models
        for group, scope in _scopes(model_records, bounds.get("by"))
        for key in bound_keys
        if (breach := _breach(suite, model, metric, key, group, scope, float(bounds[key]))) is not None
    ]
    return breaches, unused


def _bound_models(listed: list[str] | None, records: list[ItemRecord], candidate: str | None) -> set[str]:
    """``models:`` when listed, else the candidate when one is configured, else every model."""
    if listed:
        return set(listed)
    return {candidate} if candidate else {r.model for r in records}


def _scopes(records: list[ItemRecord], by: str | None) -> Iterator[tuple[str | None, list[ItemRecord]]]:
    """The whole suite, then each group of ``by`` (a model's records are already one model)."""
    yield None, records
    if by in ("tags", "variant"):
        label = "tag" if by == "tags" else "variant"
        for name, group in metrics.group_by(records, by).items():
            yield f"{label} {name}", group


def _breach(
    suite: str, model: str, metric: str, key: str, group: str | None, records: list[ItemRecord], threshold: float
) -> Breach | None:
    reader, kind = _BOUNDS[(metric, key)]
    value = reader(records)
    if value is None:
        return None  # nothing to measure in this scope (no repeats, no prices, ...)
    broken = value < threshold - 1e-12 if kind == "min" else value > threshold + 1e-12
    return Breach(suite, model, metric, key, group, value, threshold) if broken else None
