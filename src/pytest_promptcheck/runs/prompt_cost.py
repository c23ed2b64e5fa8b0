"""Prompt complexity vs capacity: what each prompt variant costs each model, and what it buys.

Per (model, prompt variant): prompt tokens per call (the provider's ``input_tokens``: an API's
count, the tokenizer's for a local transformers model), the pass rate with its Wilson interval,
latency p50 and cost per call. Then per model the *cheapest* variant whose pass rate is within
``[tool.promptcheck.prompt_cost] variant_tolerance`` (default 0.05) of the model's best, cheapest
by cost per call where every variant has a price, else by prompt tokens; and, for a baseline and
a candidate, the shortest candidate prompt that keeps the baseline's best pass rate (within the
tolerance) on a longer prompt: "tuned on `plain` (31 tokens, 92%) keeps base on `guided` (45
tokens, 90%): −14 tokens per call". A fine-tune that lets a shorter prompt do the work saves
those tokens on every call.

Pure: a function of item records; nothing to show with a single prompt variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import config_values as check
from ..errors import ConfigError
from .metrics import Rate, accuracy, latency
from .record import ItemRecord

_KEYS = ("variant_tolerance",)


@dataclass(frozen=True)
class PromptCostConfig:
    """``[tool.promptcheck.prompt_cost]``."""

    variant_tolerance: float = 0.05  # pass-rate distance from the best within which a cheaper variant counts

    @classmethod
    def from_table(cls, table: Any, file: str) -> PromptCostConfig:
        at = f"{file}: [tool.promptcheck.prompt_cost]"
        if not isinstance(table, dict):
            raise ConfigError(f"{at} must be a table, got {table!r}")
        unknown = sorted(set(table) - set(_KEYS))
        if unknown:
            raise ConfigError(f"{at}: unknown key {', '.join(map(repr, unknown))}; valid: {', '.join(_KEYS)}")
        tolerance = table.get("variant_tolerance", cls.variant_tolerance)
        return cls(check.number(tolerance, f"{at} variant_tolerance (a pass-rate distance)", least=0, most=1))


@dataclass(frozen=True)
class VariantCost:
    """One model on one prompt variant."""

    model: str
    variant: str
    rate: Rate
    calls: int
    prompt_tokens: float | None  # mean input tokens per answered call; None: the provider reported none
    latency_p50_ms: float | None
    cost: float | None  # mean USD per answered call; None: no price

    @property
    def price_key(self) -> tuple[float, float, str]:
        """Cheapest first: prompt tokens (unknown last), then latency, then the name."""
        tokens = self.prompt_tokens if self.prompt_tokens is not None else float("inf")
        return (tokens, self.latency_p50_ms if self.latency_p50_ms is not None else float("inf"), self.variant)


@dataclass(frozen=True)
class Pick:
    """A model's cheapest variant within the tolerance of its best pass rate."""

    model: str
    cheapest: VariantCost
    best: VariantCost


@dataclass(frozen=True)
class Shorter:
    """The candidate keeps the baseline's accuracy on a shorter prompt."""

    candidate: VariantCost
    baseline: VariantCost
    tolerance: float = 0.0

    @property
    def saved_tokens(self) -> float:
        return (self.baseline.prompt_tokens or 0) - (self.candidate.prompt_tokens or 0)

    def sentence(self) -> str:
        c, b = self.candidate, self.baseline
        within = f" within {self.tolerance * 100:g} pts" if (c.rate.rate or 0.0) < (b.rate.rate or 0.0) else ""
        return (
            f"{c.model} on `{c.variant}` ({tokens(c.prompt_tokens)} tokens, {percent(c.rate)}) keeps {b.model} on "
            f"`{b.variant}` ({tokens(b.prompt_tokens)} tokens, {percent(b.rate)}){within}: "
            f"−{tokens(self.saved_tokens)} tokens per call"
        )


@dataclass(frozen=True)
class PromptCost:
    rows: tuple[VariantCost, ...]  # by model, then variant
    picks: tuple[Pick, ...]
    shorter: Shorter | None
    tolerance: float


def prompt_cost(
    records: Sequence[ItemRecord], *, baseline: str | None, candidate: str | None, tolerance: float = 0.05
) -> PromptCost | None:
    """The prompt-cost table of a run; None when no model ran more than one prompt variant."""
    scopes: dict[tuple[str, str], list[ItemRecord]] = {}
    for record in records:
        scopes.setdefault((record.model, record.variant), []).append(record)
    rows = tuple(_row(model, variant, rs) for (model, variant), rs in sorted(scopes.items()))
    by_model: dict[str, list[VariantCost]] = {}
    for row in rows:
        by_model.setdefault(row.model, []).append(row)
    if all(len(variants) < 2 for variants in by_model.values()):
        return None
    picks = tuple(p for variants in by_model.values() if (p := _pick(variants, tolerance)) is not None)
    shorter = None
    if baseline in by_model and candidate in by_model:
        shorter = _shorter(by_model[baseline], by_model[candidate], tolerance)
    return PromptCost(rows, picks, shorter, tolerance)


def _row(model: str, variant: str, records: list[ItemRecord]) -> VariantCost:
    answered = [c for r in records for c in r.calls if c.output is not None]
    counted = [c.input_tokens for c in answered if c.input_tokens is not None]
    costs = [c.cost for c in answered if c.cost is not None]
    timing = latency(records)
    return VariantCost(
        model=model,
        variant=variant,
        rate=accuracy(records).rate,
        calls=len(answered),
        prompt_tokens=sum(counted) / len(counted) if counted else None,
        latency_p50_ms=timing.p50_ms if timing else None,
        cost=sum(costs) / len(costs) if costs and len(costs) == len(answered) else None,
    )


def _pick(variants: list[VariantCost], tolerance: float) -> Pick | None:
    judged = [v for v in variants if v.rate.rate is not None]
    if len(judged) < 2:
        return None
    best = max(judged, key=lambda v: (v.rate.rate or 0.0, [-x for x in v.price_key[:2]]))
    near = [v for v in judged if (v.rate.rate or 0.0) >= (best.rate.rate or 0.0) - tolerance - 1e-12]
    priced = all(v.cost is not None for v in near)
    cheapest = min(near, key=lambda v: ((v.cost or 0.0) if priced else 0.0, v.price_key))
    return Pick(best.model, cheapest, best)


def _shorter(base: list[VariantCost], cand: list[VariantCost], tolerance: float) -> Shorter | None:
    """The candidate's shortest prompt that keeps the baseline's best pass rate, when it is shorter than that one."""
    judged = [v for v in base if v.rate.rate is not None and v.prompt_tokens is not None]
    if not judged:
        return None
    reference = max(judged, key=lambda v: (v.rate.rate or 0.0, -(v.prompt_tokens or 0.0)))
    keeps = [
        v for v in cand
        if v.rate.rate is not None and v.prompt_tokens is not None
        and v.rate.rate >= (reference.rate.rate or 0.0) - tolerance - 1e-12
        and v.prompt_tokens < (reference.prompt_tokens or 0.0)
    ]  # fmt: skip
    if not keeps:
        return None
    return Shorter(min(keeps, key=lambda v: v.price_key), reference, tolerance)


def tokens(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def percent(rate: Rate) -> str:
    return "n/a" if rate.rate is None else f"{rate.rate:.0%}"


def interval(rate: Rate) -> str:
    low, high = rate.interval
    return f"[{low:.0%}, {high:.0%}]"
