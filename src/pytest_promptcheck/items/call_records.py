"""The parts of an item's run record: a ``CallRecord`` per call and a ``JudgeCallRecord`` per grader call.

``PromptItem.record`` assembles the ``ItemRecord`` from these; ``jsonable`` makes the JSON-safe
copies every record field holds (records cross process boundaries under xdist).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..calls.plan import Call
from ..config import ProjectConfig, effective_call_settings
from ..outputs.failure import explain
from ..providers.base import Completion
from ..providers.content import record_form
from ..runs.record import AssertionRecord, CallRecord, JudgeCallRecord
from ..verdicts.evaluate import CallVerdict, PreparedAssertion
from ..verdicts.model_graded import GRADED_OUTPUT, JudgeArg, grading_messages


def call_record(
    call: Call,
    verdict: CallVerdict,
    judge_calls: tuple[JudgeCallRecord, ...],
    *,
    price: dict[str, float] | None,
    scrub: Callable[[str], str],
) -> CallRecord:
    """An answered call: what was sent, what came back, and each assertion's result."""
    completion = verdict.completion
    return CallRecord(
        sample=call.sample,
        binding=jsonable(call.binding),
        messages=record_form(call.messages),  # images as hash and size, not base64
        params=jsonable(call.request.params),
        seed=call.request.seed,
        output=completion.output,
        finish_reason=completion.finish_reason,
        served_model=completion.served_model,
        input_tokens=completion.usage.input_tokens,
        output_tokens=completion.usage.output_tokens,
        latency_ms=completion.latency_ms,
        cost=completion.cost(price),
        cached=completion.cached,
        tool_calls=tuple(
            {
                "name": t.name,
                "arguments": jsonable(t.arguments),
                "raw_arguments": scrub(t.raw_arguments),
                "id": t.id,
                "error": t.error,
            }
            for t in completion.tool_calls
        ),
        ttft_ms=completion.ttft_ms,
        turn=call.turn,
        batch_id=completion.batch_id,
        passed=verdict.passed,
        score=verdict.score,
        assertions=tuple(
            AssertionRecord(
                name=r.assertion.label(),
                passed=r.outcome.passed,
                score=r.outcome.score,
                # what the failure text says (a json_path's path, expected and got), scrubbed before
                # its values are clipped: a secret cut in half would no longer match later
                reason=explain(r, scrub),
                weight=r.assertion.spec.weight,
                details=_details(r.outcome),
                message=r.assertion.spec.message,
            )
            for r in verdict.results
        ),
        judge_calls=judge_calls,
    )


def judge_call_record(
    name: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any], completion: Completion,
    price: dict[str, float] | None,
) -> JudgeCallRecord:  # fmt: skip
    """One grader call a judge made: counted, priced and recorded like any call."""
    return JudgeCallRecord(
        model=name, messages=tuple(dict(m) for m in messages), params=jsonable(params),
        output=completion.output, served_model=completion.served_model,
        input_tokens=completion.usage.input_tokens, output_tokens=completion.usage.output_tokens,
        latency_ms=completion.latency_ms, cost=completion.cost(price), cached=completion.cached,
    )  # fmt: skip


def planned_judge_calls(
    project: ProjectConfig, assertions: tuple[PreparedAssertion, ...], call: Call
) -> tuple[JudgeCallRecord, ...]:
    """The grader calls judging ``call`` would make at least (one per model-graded assertion)."""
    planned = []
    for assertion in assertions:
        if isinstance(assertion.arg, JudgeArg) and assertion.arg.model in project.models:
            model = project.models[assertion.arg.model]
            settings = effective_call_settings(project, model, assertion.arg.params, 1)
            messages = grading_messages(assertion.arg.rubric, call.messages, GRADED_OUTPUT)
            planned.append(JudgeCallRecord(model.name, tuple(messages), jsonable(settings.params)))
    return tuple(planned)


def unanswered_call(call: Call, judge_calls: tuple[JudgeCallRecord, ...] = ()) -> CallRecord:
    """A call that never got a verdict (an error, a dry run): what would have been sent."""
    return CallRecord(call.sample, jsonable(call.binding), record_form(call.messages),
                      jsonable(call.request.params), call.request.seed, judge_calls=judge_calls,
                      turn=call.turn)  # fmt: skip


_DETAIL_CHARS = 200


def _details(outcome: Any) -> dict[str, Any] | None:
    """The outcome's details, with what a failure was on (JSON path, expected, got) for the failure analysis."""
    found = dict(outcome.details or {})
    if not outcome.passed:  # long texts (a whole output) are left out, not clipped: a cut secret would not match
        found.update({k: v for k in ("path", "expected", "got")
                      if (v := getattr(outcome, k)) is not None and len(str(v)) <= _DETAIL_CHARS})  # fmt: skip
    return jsonable(found) if found else None


def jsonable(value: Any) -> Any:
    """A JSON-safe copy (records cross process boundaries under xdist).

    Most values (params, bindings, metrics) are already plain: copy those without a JSON round trip,
    which cost a noticeable share of a 10,000-case replay.
    """
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return json.loads(json.dumps(value, default=str))
