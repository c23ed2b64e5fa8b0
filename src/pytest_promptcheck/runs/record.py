"""The run record: one typed record per prompt item, with its calls and their verdicts.

Every producer and consumer goes through these types: the item builds an :class:`ItemRecord` when
its deciding phase ends, the record rides on pytest's report as JSON (so it reaches the xdist
controller with the report), and the aggregation, metrics, comparison, gate, reports, exports,
snapshots and the CLI read attributes of the parsed record. ``results.jsonl`` holds one line per
call: the item's fields, then ``run`` and ``index``, then the call's, usage nested::

    {"version": 1, "item": "suite.prompts.yaml::refund[tuned]", "suite": "suite.prompts.yaml",
     "case": "refund", "variant": "terse", "model": "tuned", "provider": "openai",
     "served": "openai:gpt-4o-mini", "side": "candidate", "tags": ["billing"], "ideal": "billing",
     "outcome": "failed", "error": null, "threshold": null, "min_pass": null, "suite_metrics": {},
     "base_url": "http://127.0.0.1:8000/v1", "sampled": false, "confirmations": [],
     "run": "20261128T082307.123Z-cc1b56", "index": 0,
     "sample": 0, "binding": {}, "messages": [{"role": "user", "content": "..."}], "params": {},
     "seed": 1234, "output": "account", "finish_reason": "stop", "served_model": "gpt-4o-mini-2024-07-18",
     "usage": {"input_tokens": 12, "output_tokens": 1}, "latency_ms": 80.2, "cost": null,
     "cached": false, "passed": false, "score": 0.0,
     "assertions": [{"name": "equals 'billing'", "passed": false, "score": 0.0,
                     "reason": "...", "weight": 1.0, "details": null}],
     "judge_calls": [], "tool_calls": [], "ttft_ms": null, "turn": null}

A model-graded assertion's calls to its grader are in the graded call's ``judge_calls`` (model,
messages, params, output, usage, latency, cost, cached): counted and priced like calls.

``RECORD_VERSION`` numbers this shape (lines and the run manifest). A reader accepts every version
up to its own and says which version wrote a record it cannot read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RECORD_VERSION = 1
_REPORT_ATTR = "promptcheck"  # the record's JSON on pytest's report (plain values cross xdist's channel)


class RecordVersionError(ValueError):
    """A record written by a newer pytest-promptcheck than this one."""


@dataclass(frozen=True)
class AssertionRecord:
    """One assertion's verdict on one call."""

    name: str  # the assertion as it reads in failure output, e.g. ``not contains 'x'``
    passed: bool
    score: float
    reason: str = ""
    weight: float = 1.0
    details: dict[str, Any] | None = None  # e.g. a judge's prompt and raw verdict
    message: str | None = None  # the suite's `message:` for this assertion

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "score": self.score, "reason": self.reason,
                "weight": self.weight, "details": self.details, "message": self.message}  # fmt: skip

    def explained(self) -> str:
        """``name: reason — message``, as reports list a failed assertion."""
        text = f"{self.name}: {self.reason}" if self.reason else self.name
        return f"{text} — {self.message}" if self.message else text

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AssertionRecord:
        return cls(str(data.get("name", "")), bool(data.get("passed")), float(data.get("score") or 0.0),
                   str(data.get("reason") or ""), float(data.get("weight", 1.0)), data.get("details"),
                   data.get("message"))  # fmt: skip


@dataclass(frozen=True)
class JudgeCallRecord:
    """One call a model-graded assertion made to its grader while judging a call (judges are calls too).

    ``output`` is None for a call that was only planned (a dry run lists it with its prompt).
    """

    model: str  # the grader's model name in [tool.promptcheck.model]
    messages: tuple[dict[str, Any], ...]
    params: dict[str, Any] = field(default_factory=dict)
    output: str | None = None
    served_model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    cost: float | None = None
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "messages": list(self.messages), "params": self.params,
            "output": self.output, "served_model": self.served_model,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "latency_ms": self.latency_ms, "cost": self.cost, "cached": self.cached,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JudgeCallRecord:
        usage = data.get("usage") or {}
        return cls(
            model=str(data.get("model", "")), messages=tuple(data.get("messages") or ()), params=dict(data.get("params") or {}),
            output=data.get("output"), served_model=data.get("served_model"),
            input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"),
            latency_ms=data.get("latency_ms"), cost=data.get("cost"), cached=bool(data.get("cached")),
        )  # fmt: skip


@dataclass(frozen=True)
class CallRecord:
    """One model call of an item: what was asked, what came back, what was judged.

    ``output`` is None for a call that never got an answer (an error, a dry run); ``passed`` is
    None for a call that got no verdict.
    """

    sample: int
    binding: dict[str, Any]
    messages: tuple[dict[str, Any], ...]
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    output: str | None = None
    finish_reason: str | None = None
    served_model: str | None = None  # what the server said it served (the response's `model`)
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    cost: float | None = None
    cached: bool = False
    passed: bool | None = None
    score: float | None = None
    assertions: tuple[AssertionRecord, ...] = ()
    judge_calls: tuple[JudgeCallRecord, ...] = ()  # the grader calls its model-graded assertions made
    # The tool calls in the answer: {"name", "arguments" (parsed, or None), "raw_arguments", "id",
    # "error"}; additive to record version 1 (older lines read with none).
    tool_calls: tuple[dict[str, Any], ...] = ()
    ttft_ms: float | None = None  # time to the first streamed token (streamed calls only)
    turn: int | None = None  # a multi-turn case's turn (1-based, as in ``turns:``); additive to version 1
    batch_id: str | None = None  # the provider batch that answered it (--pc-batch); additive to version 1

    @property
    def answered(self) -> bool:
        return self.output is not None

    def failed_reasons(self) -> list[str]:
        """``name: reason — message`` of each failed assertion."""
        return [a.explained() for a in self.assertions if not a.passed]

    def label(self) -> str:
        """Which call of its item, e.g. ``name='Emily' · sample 1``."""
        turn = [f"turn {self.turn}"] if self.turn is not None else []
        return " · ".join([*(f"{k}={v!r}" for k, v in self.binding.items()), f"sample {self.sample}", *turn])

    def to_json(self) -> dict[str, Any]:
        return {
            "sample": self.sample, "binding": self.binding, "messages": list(self.messages), "params": self.params,
            "seed": self.seed, "output": self.output, "finish_reason": self.finish_reason,
            "served_model": self.served_model,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "latency_ms": self.latency_ms, "cost": self.cost, "cached": self.cached, "passed": self.passed,
            "score": self.score, "assertions": [a.to_json() for a in self.assertions],
            "judge_calls": [j.to_json() for j in self.judge_calls],
            "tool_calls": list(self.tool_calls), "ttft_ms": self.ttft_ms, "turn": self.turn,
            "batch_id": self.batch_id,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallRecord:
        usage = data.get("usage") or {}
        return cls(
            sample=int(data.get("sample") or 0),
            binding=dict(data.get("binding") or {}),
            messages=tuple(data.get("messages") or ()),
            params=dict(data.get("params") or {}),
            seed=data.get("seed"),
            output=data.get("output"),
            finish_reason=data.get("finish_reason"),
            served_model=data.get("served_model"),
            input_tokens=usage.get("input_tokens"),
            output_tokens=usage.get("output_tokens"),
            latency_ms=data.get("latency_ms"),
            cost=data.get("cost"),
            cached=bool(data.get("cached")),
            passed=data.get("passed"),
            score=data.get("score"),
            assertions=tuple(AssertionRecord.from_json(a) for a in data.get("assertions") or ()),
            judge_calls=tuple(JudgeCallRecord.from_json(j) for j in data.get("judge_calls") or ()),
            tool_calls=tuple(dict(t) for t in data.get("tool_calls") or ()),
            ttft_ms=data.get("ttft_ms"),
            turn=data.get("turn"),
            batch_id=data.get("batch_id"),
        )


@dataclass(frozen=True)
class ItemRecord:
    """One prompt item (a case on one prompt variant and one model) after its deciding phase."""

    item: str  # the pytest node id
    suite: str  # the suite file relative to the rootdir, forward slashes
    case: str
    variant: str
    model: str
    provider: str
    served: str  # what the model config says is served, ``${ENV}`` resolved, e.g. ``openai:gpt-4o-mini``
    side: str | None  # "baseline", "candidate" or None
    tags: tuple[str, ...]
    ideal: str | None
    outcome: str  # "passed", "failed", "error" or "skipped"
    error: str | None
    threshold: float | None
    min_pass: float | None
    calls: tuple[CallRecord, ...]
    suite_metrics: dict[str, Any] = field(default_factory=dict)  # the suite's `metrics:` (thresholds)
    base_url: str | None = None  # the endpoint, resolved, without user info or query
    sampled: bool = False  # outputs vary between samples (temperature > 0, repeats or a judge)
    confirmations: tuple[bool, ...] = ()  # verdicts of the gate's re-samples of a critical case (`confirm`)
    drift: tuple[str, ...] = ()  # what baseline and candidate differ in besides weights (the item that found it)
    # The case's vars named in [tool.promptcheck.analysis] vars (representativeness); additive to version 1.
    chosen_vars: dict[str, str] = field(default_factory=dict)
    # The tools offered (OpenAI's flat function form) and a tool call as the export's target; additive.
    tools: tuple[dict[str, Any], ...] = ()
    ideal_tool_call: dict[str, Any] | None = None
    version: int = RECORD_VERSION

    @property
    def judged(self) -> bool:
        return self.outcome in ("passed", "failed")

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    def judged_calls(self) -> list[CallRecord]:
        return [c for c in self.calls if c.passed is not None]

    def shown_call(self) -> CallRecord | None:
        """The call a person looks at first: the first failing one, else the first."""
        return next((c for c in self.calls if c.passed is False), self.calls[0] if self.calls else None)

    def to_json(self) -> dict[str, Any]:
        return {**self._item_json(), "calls": [c.to_json() for c in self.calls]}

    def _item_json(self) -> dict[str, Any]:
        return {
            "version": self.version, "item": self.item, "suite": self.suite, "case": self.case,
            "variant": self.variant, "model": self.model, "provider": self.provider, "served": self.served,
            "side": self.side, "tags": list(self.tags), "ideal": self.ideal, "outcome": self.outcome,
            "error": self.error, "threshold": self.threshold, "min_pass": self.min_pass,
            "suite_metrics": self.suite_metrics, "base_url": self.base_url, "sampled": self.sampled,
            "confirmations": list(self.confirmations), "drift": list(self.drift), "chosen_vars": self.chosen_vars,
            "tools": list(self.tools), "ideal_tool_call": self.ideal_tool_call,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any], calls: Iterable[CallRecord] | None = None) -> ItemRecord:
        """The record from its JSON (``calls`` given: from the lines of a results.jsonl)."""
        version = int(data.get("version") or 1)
        if version > RECORD_VERSION:
            raise RecordVersionError(
                f"record of {data.get('item')!r} has version {version}, written by a newer pytest-promptcheck "
                f"(this one reads up to version {RECORD_VERSION}); upgrade pytest-promptcheck to read it"
            )
        found = calls if calls is not None else (CallRecord.from_json(c) for c in data.get("calls") or ())
        return cls(
            item=str(data["item"]),
            suite=str(data.get("suite", "")),
            case=str(data.get("case", "")),
            variant=str(data.get("variant", "")),
            model=str(data.get("model", "")),
            provider=str(data.get("provider", "")),
            served=str(data.get("served", "")),
            side=data.get("side"),
            tags=tuple(data.get("tags") or ()),
            ideal=data.get("ideal"),
            outcome=str(data.get("outcome", "?")),
            error=data.get("error"),
            threshold=data.get("threshold"),
            min_pass=data.get("min_pass"),
            calls=tuple(found),
            suite_metrics=dict(data.get("suite_metrics") or {}),
            base_url=data.get("base_url"),
            sampled=bool(data.get("sampled")),
            confirmations=tuple(bool(v) for v in data.get("confirmations") or ()),
            drift=tuple(str(v) for v in data.get("drift") or ()),
            chosen_vars={str(k): str(v) for k, v in (data.get("chosen_vars") or {}).items()},
            tools=tuple(dict(t) for t in data.get("tools") or ()),
            ideal_tool_call=data.get("ideal_tool_call"),
            version=version,
        )

    def call_lines(self, run_id: str) -> Iterator[dict[str, Any]]:
        """The ``results.jsonl`` lines of this record (see the module docstring)."""
        item = self._item_json()
        for index, call in enumerate(self.calls):
            yield {**item, "run": run_id, "index": index, **call.to_json()}


# -- on pytest's reports ------------------------------------------------------------------------------


def attach(report: Any, record: ItemRecord) -> None:
    """Put the record on ``report`` (as JSON: execnet carries only plain values to the controller)."""
    setattr(report, _REPORT_ATTR, record.to_json())


def record_of(report: Any) -> ItemRecord | None:
    """The record carried by a report, if it is a prompt item's deciding report."""
    data = getattr(report, _REPORT_ATTR, None)
    return ItemRecord.from_json(data) if isinstance(data, dict) else None


# -- results.jsonl ----------------------------------------------------------------------------------


def read_records(path: Path) -> list[ItemRecord]:
    """The item records of a ``results.jsonl``, calls in order; a line cut short by a killed run is skipped."""
    items: dict[str, tuple[dict[str, Any], list[tuple[int, CallRecord]]]] = {}
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if not isinstance(line, dict) or not isinstance(line.get("item"), str):
                continue
            _, calls = items.setdefault(line["item"], (line, []))
            calls.append((int(line.get("index") or 0), CallRecord.from_json(line)))
    return [ItemRecord.from_json(first, (c for _, c in sorted(calls, key=lambda ic: ic[0])))
            for first, calls in items.values()]  # fmt: skip
