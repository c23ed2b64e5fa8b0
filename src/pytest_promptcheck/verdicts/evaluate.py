"""Checking prepared assertions against completions: per-call verdicts and the item's verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import PromptcheckError
from ..providers.base import Completion
from ..suites.model import AssertionSpec
from ..textutil import short
from .base import AssertionType, CheckContext, Outcome, to_outcome


@dataclass(frozen=True)
class PreparedAssertion:
    """An assertion of a case, resolved to its type with its argument validated at collection."""

    spec: AssertionSpec
    type: AssertionType
    arg: Any
    negate: bool

    def label(self) -> str:
        """How the assertion reads in failure output: ``not_contains 'x'``, ``not contains 'x'``."""
        written_not_ = self.negate != self.spec.negate  # written as `not_<name>`
        prefix = ("not " if self.spec.negate else "") + ("not_" if written_not_ else "")
        arg = "" if self.spec.arg is None else f" {short(self.spec.arg)}"
        return f"{prefix}{self.type.name}{arg}"


@dataclass(frozen=True)
class CheckResult:
    assertion: PreparedAssertion
    outcome: Outcome


@dataclass(frozen=True)
class CallVerdict:
    """All assertions on one call (one sample of one counterfactual value)."""

    sample_index: int
    binding: dict[str, Any]
    messages: tuple[dict[str, Any], ...]
    completion: Completion
    results: tuple[CheckResult, ...]
    score: float
    passed: bool
    threshold: float | None = None
    turn: str | None = None  # a multi-turn case's turn, as failure text names it: ``turn 2 (user)``

    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.outcome.passed]


@dataclass(frozen=True)
class Verdict:
    """The item's verdict over all its calls."""

    item_id: str
    calls: tuple[CallVerdict, ...]
    passed: bool
    min_pass: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float:
        return sum(c.passed for c in self.calls) / len(self.calls) if self.calls else 1.0

    def summary(self) -> str:
        failed = [c for c in self.calls if not c.passed]
        if not failed:
            return f"{self.item_id}: passed"
        first = failed[0].failed()
        what = first[0].assertion.label() if first else f"score {failed[0].score:.2f}"
        if failed[0].turn:
            return f"{self.item_id}: {failed[0].turn}: {what} failed"
        return f"{self.item_id}: {len(failed)}/{len(self.calls)} call(s) failed ({what})"


class PromptAssertionError(PromptcheckError, AssertionError):
    """The outputs of an item did not meet its assertions (the item *fails*; see :mod:`..errors`)."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        super().__init__(verdict.summary())


def check_call(
    assertions: tuple[PreparedAssertion, ...],
    context: CheckContext,
    *,
    threshold: float | None,
    sample_index: int,
    binding: dict[str, Any],
) -> CallVerdict:
    """Run every assertion on one completion; user-code exceptions propagate with their traceback."""
    __tracebackhide__ = True  # a user check's exception shows the user's frames, not ours
    output = context.completion.output
    results = []
    for prepared in assertions:
        outcome = to_outcome(prepared.type.check(output, prepared.arg, context), prepared.label())
        if prepared.negate:
            outcome = outcome.negated()
        results.append(CheckResult(prepared, outcome))
    score, passed = _combine(results, threshold)
    return CallVerdict(
        sample_index, binding, context.messages, context.completion, tuple(results), score, passed, threshold
    )


def _combine(results: list[CheckResult], threshold: float | None) -> tuple[float, bool]:
    """Weighted score; pass = score >= threshold, or (no threshold) every weighted assertion passes."""
    total = sum(r.assertion.spec.weight for r in results)
    if total == 0:
        return 1.0, all(r.outcome.passed for r in results if r.assertion.spec.weight > 0)
    score = sum(r.assertion.spec.weight * r.outcome.score for r in results) / total
    if threshold is not None:
        return score, score >= threshold - 1e-12
    return score, all(r.outcome.passed for r in results if r.assertion.spec.weight > 0)


def item_verdict(item_id: str, calls: list[CallVerdict], *, min_pass: float | None) -> Verdict:
    """All calls must pass, unless ``repeat: {min_pass}`` sets the share of passing calls needed."""
    if min_pass is None:
        passed = all(c.passed for c in calls)
    else:
        passed = (sum(c.passed for c in calls) / len(calls)) >= min_pass - 1e-12 if calls else True
    return Verdict(item_id, tuple(calls), passed, min_pass)
