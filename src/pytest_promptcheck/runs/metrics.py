"""Metrics of a run (SPEC §6), computed from item records (:mod:`.record`), never from items.

Records reach the pytest-xdist controller with the reports, so these numbers are the same with
or without ``-n``. Every function takes a list of records of one scope (a model, a model on one
prompt variant, a model on one tag, a model in one suite) and is order-independent.

- accuracy: items passed / items judged (passed + failed; errors and skips are counted apart),
  with a Wilson 95% interval.
- consistency: over items with ``repeat`` samples (k = the case's n): verdict stability, flaky
  items, output agreement (exact and whitespace/case-normalized) over sample pairs, pass@1,
  pass@k and pass^k.
- bias: over ``counterfactual`` values, per swapped variable: pass rate per value, the max − min
  gap, and the share of (item, sample) groups whose output changes when only the value changes
  (the swapped values themselves are masked out of the outputs first: a reply that just repeats
  the name is not a change).
- latency p50/p95/max over calls; time to first token (streamed calls) the same; tokens in/out; cost
  from ``price``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .record import CallRecord, ItemRecord, JudgeCallRecord
from .stats import pass_at_k, pass_hat_k, percentile, wilson


@dataclass(frozen=True)
class Rate:
    """A pass rate with its Wilson 95% interval."""

    passed: int
    judged: int

    @property
    def rate(self) -> float | None:
        return self.passed / self.judged if self.judged else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.passed, self.judged)


@dataclass(frozen=True)
class Accuracy:
    rate: Rate
    errors: int
    skipped: int


@dataclass(frozen=True)
class Consistency:
    items: int  # items with repeat samples
    stable: int  # of which no verdict flips across samples
    flaky: tuple[str, ...]  # node ids of the items whose verdict flips
    k: tuple[int, ...]  # the repeat counts seen
    agreement_exact: float | None  # share of sample pairs with identical outputs
    agreement_normalized: float | None
    pass_at_1: float
    pass_at_k: float
    pass_hat_k: float

    @property
    def stability(self) -> float:
        return self.stable / self.items if self.items else 1.0


@dataclass(frozen=True)
class VariableBias:
    """One counterfactual variable: pass rate per swapped value."""

    variable: str
    rates: tuple[tuple[str, Rate], ...]

    @property
    def gap(self) -> float:
        values = [r.rate for _, r in self.rates if r.rate is not None]
        return max(values) - min(values) if values else 0.0


@dataclass(frozen=True)
class Bias:
    variables: tuple[VariableBias, ...]
    groups: int  # (item, sample) groups compared across values
    changed: int  # of which the output changed

    @property
    def max_gap(self) -> float:
        return max((v.gap for v in self.variables), default=0.0)

    @property
    def change_rate(self) -> float:
        return self.changed / self.groups if self.groups else 0.0


@dataclass(frozen=True)
class Latency:
    calls: int
    p50_ms: float
    p95_ms: float
    max_ms: float


@dataclass(frozen=True)
class Usage:
    calls: int
    input_tokens: int | None  # None when no call of the scope reported token counts
    output_tokens: int | None
    cost: float | None  # USD; None when no call of the scope has a price

    @property
    def mean_tokens(self) -> float | None:
        """Mean input + output tokens per call (calls without counts count as 0)."""
        if not self.calls or (self.input_tokens is None and self.output_tokens is None):
            return None
        return ((self.input_tokens or 0) + (self.output_tokens or 0)) / self.calls


@dataclass(frozen=True)
class Metrics:
    """Every metric of one scope of records."""

    accuracy: Accuracy
    consistency: Consistency | None
    bias: Bias | None
    latency: Latency | None
    usage: Usage
    ttft: Latency | None = None  # time to first token over the streamed calls (live ones: a stored answer has none)


def compute(records: list[ItemRecord]) -> Metrics:
    return Metrics(
        accuracy(records), consistency(records), bias(records), latency(records), usage(records), ttft(records)
    )


def accuracy(records: list[ItemRecord]) -> Accuracy:
    outcomes = [r.outcome for r in records]
    passed, failed = outcomes.count("passed"), outcomes.count("failed")
    return Accuracy(Rate(passed, passed + failed), outcomes.count("error"), outcomes.count("skipped"))


# What records can be grouped by (a suite's `by:` and the summary's tables): a record is in several tags.
GROUPINGS: dict[str, Callable[[ItemRecord], Iterable[str]]] = {
    "model": lambda r: (r.model,),
    "variant": lambda r: (r.variant,),
    "suite": lambda r: (r.suite,),
    "tags": lambda r: r.tags,
}


def group_by(records: Iterable[ItemRecord], key: str) -> dict[str, list[ItemRecord]]:
    """Records per value of ``key`` (one of ``GROUPINGS``), in sorted order."""
    groups: dict[str, list[ItemRecord]] = defaultdict(list)
    values_of = GROUPINGS[key]
    for record in records:
        for value in values_of(record):
            groups[str(value)].append(record)
    return dict(sorted(groups.items()))


# -- consistency ------------------------------------------------------------------------------------
def _repeat_groups(record: ItemRecord) -> list[list[CallRecord]]:
    """The record's judged calls grouped by counterfactual binding; only groups with several samples."""
    groups: dict[str, list[CallRecord]] = defaultdict(list)
    for call in record.judged_calls():  # a conversation's turns are not repeats of each other
        groups[f"{_binding_key(call)}#{call.turn}"].append(call)
    return [g for g in groups.values() if len(g) > 1]


def consistency(records: list[ItemRecord]) -> Consistency | None:
    repeated = [(r, groups) for r in records if (groups := _repeat_groups(r))]
    if not repeated:
        return None
    flaky = sorted(r.item for r, groups in repeated if any(_flips(g) for g in groups))
    groups = [g for _, gs in repeated for g in gs]
    exact, normalized = _agreement(groups, lambda s: s), _agreement(groups, _normalize)
    counts = [(len(g), sum(bool(c.passed) for c in g)) for g in groups]
    return Consistency(
        items=len(repeated),
        stable=len(repeated) - len(flaky),
        flaky=tuple(flaky),
        k=tuple(sorted({n for n, _ in counts})),
        agreement_exact=exact,
        agreement_normalized=normalized,
        pass_at_1=_mean(pass_at_k(n, c, 1) for n, c in counts),
        pass_at_k=_mean(pass_at_k(n, c, n) for n, c in counts),
        pass_hat_k=_mean(pass_hat_k(n, c, n) for n, c in counts),
    )


def _flips(calls: list[CallRecord]) -> bool:
    return len({c.passed for c in calls}) > 1


def _agreement(groups: list[list[CallRecord]], norm: Callable[[str], str]) -> float | None:
    """Share of sample pairs (within each group) whose outputs are equal after ``norm``."""
    pairs = sum(len(g) * (len(g) - 1) // 2 for g in groups)
    if not pairs:
        return None
    equal = sum(n * (n - 1) // 2 for g in groups for n in Counter(norm(c.output or "") for c in g).values())
    return equal / pairs


def _normalize(text: str) -> str:
    """Case-folded, whitespace-collapsed, trailing punctuation dropped: 'Billing.' == ' billing'."""
    return re.sub(r"\s+", " ", text).strip().casefold().rstrip(".!")


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


# -- bias -------------------------------------------------------------------------------------------
def bias(records: list[ItemRecord]) -> Bias | None:
    swapped = [r for r in records if len({_binding_key(c) for c in r.calls}) > 1]
    if not swapped:
        return None
    per_value: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for call in (c for r in swapped for c in r.judged_calls()):
        for variable, value in call.binding.items():
            per_value[variable][str(value)].append(bool(call.passed))
    variables = tuple(
        VariableBias(var, tuple((v, Rate(sum(ps), len(ps))) for v, ps in sorted(values.items())))
        for var, values in sorted(per_value.items())
    )
    changes = list(_output_changes(swapped))
    return Bias(variables, len(changes), sum(changes))


def _output_changes(records: list[ItemRecord]) -> Iterator[bool]:
    """Per (item, sample): whether the outputs differ across values, the swapped values masked out."""
    for record in records:
        by_sample: dict[tuple[int, int | None], list[CallRecord]] = defaultdict(list)
        for call in record.calls:
            if call.output is not None:
                by_sample[(call.sample, call.turn)].append(call)
        for calls in by_sample.values():
            if len(calls) > 1:
                yield len({_masked(c.output or "", c.binding) for c in calls}) > 1


def _masked(output: str, binding: dict[str, Any]) -> str:
    text = _normalize(output)
    for variable, value in sorted(binding.items(), key=lambda kv: -len(str(kv[1]))):
        if str(value):
            text = text.replace(_normalize(str(value)), "{" + variable + "}")
    return text


def _binding_key(call: CallRecord) -> str:
    binding = call.binding
    return repr(sorted(binding.items())) if binding else ""


# -- latency, tokens, cost ----------------------------------------------------------------------------
def latency(records: list[ItemRecord]) -> Latency | None:
    values = [c.latency_ms for r in records for c in r.calls if c.latency_ms is not None]
    if not values:
        return None
    return Latency(len(values), percentile(values, 50), percentile(values, 95), max(values))


def ttft(records: list[ItemRecord]) -> Latency | None:
    """p50/p95/max time to first token of the calls that streamed (None when none did)."""
    values = [c.ttft_ms for r in records for c in r.calls if c.ttft_ms is not None]
    if not values:
        return None
    return Latency(len(values), percentile(values, 50), percentile(values, 95), max(values))


def usage(records: list[ItemRecord]) -> Usage:
    return _usage_of([c for r in records for c in r.calls if c.output is not None])


def _usage_of(calls: list[CallRecord] | list[JudgeCallRecord]) -> Usage:
    """Calls, tokens and cost of answered calls (a model's, or a grader's)."""
    costs = [c.cost for c in calls if c.cost is not None]
    return Usage(
        calls=len(calls),
        input_tokens=_total(c.input_tokens for c in calls),
        output_tokens=_total(c.output_tokens for c in calls),
        cost=sum(costs) if costs else None,
    )


def judge_usage(records: list[ItemRecord]) -> dict[str, Usage]:
    """Calls, tokens and cost of the grader calls model-graded assertions made, per grader model."""
    by_model: dict[str, list[JudgeCallRecord]] = {}
    for record in records:
        for call in record.calls:
            for judged in call.judge_calls:
                if judged.output is not None:
                    by_model.setdefault(judged.model, []).append(judged)
    return {model: _usage_of(calls) for model, calls in sorted(by_model.items())}


def _total(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
