"""The result record of one prompt item: what was asked, what came back, what was judged.

A plain JSON-able dict attached to pytest's test reports (``report.promptcheck``), so it travels
from pytest-xdist workers to the controller with the report itself. Everything that aggregates a
run — metrics, the baseline/candidate comparison and gate, run records, exports — reads these
records from reports, which is why a run gives the same numbers with or without ``-n``.

Shape (``RECORD_VERSION`` 1)::

    {"version": 1, "item": nodeid, "suite": "tests/test_x.prompts.yaml", "case": "refund",
     "variant": "terse", "model": "tuned", "provider": "openai", "served": "openai:gpt-4o-mini",
     "side": "candidate" | "baseline" | None, "tags": [...], "ideal": str | None,
     "outcome": "passed" | "failed" | "error" | "skipped", "error": str | None,
     "threshold": float | None, "min_pass": float | None, "suite_metrics": {...} (the suite's `metrics:`),
     "calls": [{"sample": 0, "binding": {...}, "messages": [...], "params": {...}, "seed": int,
                "output": str | None, "finish_reason": str | None,
                "usage": {"input_tokens": int | None, "output_tokens": int | None},
                "latency_ms": float | None, "cost": float | None, "cached": bool,
                "passed": bool | None, "score": float | None,
                "assertions": [{"name": label, "passed": bool, "score": float, "reason": str,
                                "weight": float, "details": {...} | None}]}]}
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .assertions.evaluate import CallVerdict
    from .collect import PromptItem

RECORD_VERSION = 1
REPORT_ATTR = "promptcheck"


def side_of(model: str, baseline: str | None, candidate: str | None) -> str | None:
    if model == baseline:
        return "baseline"
    if model == candidate:
        return "candidate"
    return None


def item_record(item: PromptItem, outcome: str, error: str | None) -> dict[str, Any]:
    """The record of ``item`` after its last phase (see the module docstring for the shape)."""
    project = item.project
    verdict = item.verdict
    calls = [_call_record(call, item) for call in verdict.calls] if verdict is not None else _planned(item)
    return {
        "version": RECORD_VERSION,
        "item": item.nodeid,
        "suite": item.suite_relpath,
        "case": item.case.id,
        "variant": item.variant.name,
        "model": item.model.name,
        "provider": item.model.provider,
        "served": item.model.describe(),
        "side": side_of(item.model.name, project.baseline, project.candidate),
        "tags": list(item.case.tags),
        "ideal": item.case.ideal,
        "outcome": outcome,
        "error": error,
        "threshold": item.case.threshold,
        "min_pass": item.case.repeat.min_pass,
        "calls": calls,
        "suite_metrics": _jsonable(item.suite.metrics),  # thresholds: the xdist controller never collects
    }


def _call_record(call: CallVerdict, item: PromptItem) -> dict[str, Any]:
    completion = call.completion
    request = next((r for s, b, _m, r in item.planned if s == call.sample_index and b == call.binding), None)
    return {
        "sample": call.sample_index,
        "binding": _jsonable(call.binding),
        "messages": [dict(m) for m in call.messages],
        "params": _jsonable(request.params) if request is not None else {},
        "seed": request.seed if request is not None else None,
        "output": completion.output,
        "finish_reason": completion.finish_reason,
        "usage": {"input_tokens": completion.usage.input_tokens, "output_tokens": completion.usage.output_tokens},
        "latency_ms": completion.latency_ms,
        "cost": completion.cost(item.model.price),
        "cached": completion.cached,
        "passed": call.passed,
        "score": call.score,
        "assertions": [
            {
                "name": r.assertion.label(),
                "passed": r.outcome.passed,
                "score": r.outcome.score,
                "reason": r.outcome.reason,
                "weight": r.assertion.spec.weight,
                "details": _jsonable(r.outcome.details) if r.outcome.details else None,
            }
            for r in call.results
        ],
    }


def _planned(item: PromptItem) -> list[dict[str, Any]]:
    """Calls of an item that never got a verdict (an error, a dry run): what would have been sent."""
    return [
        {
            "sample": sample,
            "binding": _jsonable(binding),
            "messages": [dict(m) for m in messages],
            "params": _jsonable(request.params),
            "seed": request.seed,
            "output": None,
            "finish_reason": None,
            "usage": {"input_tokens": None, "output_tokens": None},
            "latency_ms": None,
            "cost": None,
            "cached": False,
            "passed": None,
            "score": None,
            "assertions": [],
        }
        for sample, binding, messages, request in item.planned
    ]


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy (reports cross process boundaries under xdist).

    Most values (params, bindings, metrics) are already plain: copy those without a JSON round trip,
    which cost a noticeable share of a 10,000-case replay.
    """
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return json.loads(json.dumps(value, default=str))


def record_of(report: pytest.TestReport) -> dict[str, Any] | None:
    """The record carried by a report, if it is a prompt item's final report."""
    record = getattr(report, REPORT_ATTR, None)
    return record if isinstance(record, dict) else None


def attach(item: PromptItem, report: pytest.TestReport) -> None:
    """Attach the record to the report of the item's deciding phase (call, or a failed/skipped setup)."""
    final = report.when == "call" or (report.when == "setup" and not report.passed)
    if not final:
        return
    outcome = "error" if report.when == "setup" and report.failed else report.outcome
    error = str(report.longrepr) if outcome == "error" else None
    setattr(report, REPORT_ATTR, item_record(item, outcome, error))
