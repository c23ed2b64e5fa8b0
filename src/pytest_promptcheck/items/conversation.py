"""Running a multi-turn case (``turns:``): each turn's call depends on the model's earlier answers.

The first turn (the variant's messages plus the first ``user:`` turn) is planned like any call, so
the scheduler starts it ahead; the later turns run here, in sequence inside the item, through the
same engine (cache, cassettes, retries, limits): turn k's request carries the whole history, so its
keys cover it. Between turns the model's reply goes back into the history in the neutral form (an
assistant message, with ``tool_calls`` when it made some, then one ``tool`` message per call). The
conversations of an item's repeats and counterfactual values advance together, turn by turn.

A turn after a failed turn still runs (the report shows every turn); a call that errors ends the
item as an error. A tool turn the previous answer gives nothing to answer (no call, or a call
``tool_results`` does not cover) cannot be sent: the previous turn fails, naming the tool turn,
and that conversation ends there.
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..calls.plan import Call
from ..providers.base import Completion, ModelRequest, ToolCall
from ..suites.model import AssertionSpec
from ..suites.turns import Turn
from ..verdicts.base import AssertionType, Outcome
from ..verdicts.evaluate import CallVerdict, CheckResult, PreparedAssertion, Verdict

if TYPE_CHECKING:
    from ..suites.model import Case, LoadedSuite
    from .prepare import CasePreparer

Submit = Callable[[ModelRequest], "concurrent.futures.Future[Completion]"]
Judge = Callable[[Call, Completion, tuple[PreparedAssertion, ...]], CallVerdict]


@dataclass(frozen=True)
class ConversationPlan:
    """What a multi-turn item needs besides its case: rendered user turns, prepared assertions, handlers."""

    turns: tuple[Turn, ...]
    texts: tuple[tuple[str | None, ...], ...]  # per counterfactual binding: each turn's user text
    assertions: tuple[tuple[PreparedAssertion, ...], ...]  # per turn; the case's own on the last
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)  # tool_handler ref -> function

    def first_messages(self, rendered: tuple[Any, ...]) -> tuple[tuple[dict[str, Any], ...], ...]:
        """Per binding: the variant's messages, then the first user turn."""
        return tuple((*m, {"role": "user", "content": t[0]}) for m, t in zip(rendered, self.texts))


@dataclass
class _Conversation:
    binding_index: int
    calls: list[Call]
    completions: list[Completion]
    verdicts: list[CallVerdict]
    open: bool = True


class ToolTurnError(Exception):
    """The previous answer gives a tool turn nothing (or not enough) to answer."""


def run_conversations(
    plan: ConversationPlan,
    first: list[Call],
    completions: list[Completion],
    *,
    binding_of: Callable[[Call], int],
    variables: dict[str, Any],
    submit: Submit,
    judge: Judge,
) -> tuple[list[Call], list[Completion], list[CallVerdict], list[list[bool]]]:
    """Every turn of every conversation: (calls, completions, verdicts, per-conversation turn verdicts)."""
    conversations = []
    for call, completion in zip(first, completions):
        verdict = judge(call, completion, plan.assertions[0])
        conversations.append(_Conversation(binding_of(call), [call], [completion], [_named(verdict, plan.turns[0])]))
    for turn in plan.turns[1:]:
        pending = []
        for conv in (c for c in conversations if c.open):
            try:
                messages = _next_messages(conv, turn, plan, variables)
            except ToolTurnError as exc:
                conv.verdicts[-1] = _cannot_send(conv.verdicts[-1], turn, str(exc))
                conv.open = False
                continue
            call = replace(conv.calls[-1], messages=messages, turn=turn.index,
                           request=replace(conv.calls[-1].request, messages=messages))  # fmt: skip
            pending.append((conv, call, submit(call.request)))
        for conv, call, future in pending:
            completion = future.result()  # a provider error ends the item (an error, not a failure)
            conv.calls.append(call)
            conv.completions.append(completion)
            conv.verdicts.append(_named(judge(call, completion, plan.assertions[turn.index - 1]), turn))
    calls = [c for conv in conversations for c in conv.calls]
    answers = [a for conv in conversations for a in conv.completions]
    verdicts = [v for conv in conversations for v in conv.verdicts]
    return calls, answers, verdicts, [[v.passed for v in conv.verdicts] for conv in conversations]


def conversation_verdict(
    item_id: str, verdicts: list[CallVerdict], passes: list[list[bool]], min_pass: float | None
) -> Verdict:
    """A conversation passes when every turn passes; ``repeat: {min_pass}`` counts conversations."""
    whole = [all(turns) for turns in passes]
    passed = all(whole)
    if min_pass is not None and whole:
        passed = sum(whole) / len(whole) >= min_pass - 1e-12
    return Verdict(item_id, tuple(verdicts), passed, min_pass)


def _named(verdict: CallVerdict, turn: Turn) -> CallVerdict:
    return replace(verdict, turn=turn.label())


def _next_messages(
    conv: _Conversation, turn: Turn, plan: ConversationPlan, variables: dict[str, Any]
) -> tuple[dict[str, Any], ...]:
    """The history so far, the model's last reply, and this turn's messages."""
    previous, answer = conv.calls[-1], conv.completions[-1]
    history = list(previous.messages)
    if turn.is_user:
        if answer.tool_calls:  # every API wants a tool call answered before the user speaks again
            names = ", ".join(sorted({c.name for c in answer.tool_calls}))
            raise ToolTurnError(f"turn {previous.turn} called {names}, which no tool_results turn answers before "
                                f"this user turn; add a `tool_results:` turn after turn {previous.turn}")  # fmt: skip
        history.append({"role": "assistant", "content": answer.output})
        history.append({"role": "user", "content": plan.texts[conv.binding_index][turn.index - 1]})
        return tuple(history)
    calls = answer.tool_calls
    if not calls:
        raise ToolTurnError(f"turn {previous.turn} made no tool call to answer")
    results = _results(turn, calls, plan, variables, previous.turn)
    ids = [c.id or f"call_{previous.turn}_{i}" for i, c in enumerate(calls)]
    history.append({
        "role": "assistant", "content": answer.output,
        "tool_calls": [{"id": i, "name": c.name, "arguments": c.raw_arguments} for i, c in zip(ids, calls)],
    })  # fmt: skip
    history += [
        {"role": "tool", "tool_call_id": i, "name": c.name, "content": r} for i, c, r in zip(ids, calls, results)
    ]
    return tuple(history)


def _results(
    turn: Turn, calls: tuple[ToolCall, ...], plan: ConversationPlan, variables: dict[str, Any], before: int | None
) -> list[str]:
    """One result text per call: from ``tool_results`` (by name, or in order), else the ``tool_handler``."""
    handler = plan.handlers.get(turn.handler) if turn.handler else None
    given = turn.results
    if isinstance(given, tuple) and len(given) != len(calls) and handler is None:
        raise ToolTurnError(
            f"turn {before} made {len(calls)} tool call(s), but tool_results lists {len(given)} result(s)"
        )
    results = []
    for index, call in enumerate(calls):
        if isinstance(given, tuple) and index < len(given):
            value = given[index]
        elif isinstance(given, dict) and call.name in given:
            value = given[call.name]
        elif handler is not None:
            value = handler({"name": call.name, "arguments": call.arguments, "raw_arguments": call.raw_arguments,
                             "id": call.id}, dict(variables))  # fmt: skip
        else:
            raise ToolTurnError(
                f"turn {before} called {call.name!r}, which tool_results does not answer; "
                f"add a result for {call.name!r} (or a tool_handler)"
            )
        results.append(value if isinstance(value, str) else json.dumps(value, default=str))
    return results


def _cannot_send(verdict: CallVerdict, turn: Turn, reason: str) -> CallVerdict:
    """The previous turn's verdict, failed with why ``turn`` could not be sent."""
    name = turn.label()
    kind = AssertionType(name, check=lambda *_: False, arg="none")
    check = CheckResult(PreparedAssertion(AssertionSpec(name, None, turn.line), kind, None, False),
                        Outcome(False, 0.0, reason))  # fmt: skip
    return replace(verdict, results=(*verdict.results, check), passed=False, score=0.0)


def conversation_plan(case: Case, loaded: LoadedSuite, preparer: CasePreparer) -> ConversationPlan:
    """The plan of a multi-turn case, from the loaded suite (rendered turns) and the collector's preparer."""
    texts = getattr(loaded, "turn_texts", {}).get(case.id, ())  # a suite parsed by an older version has none
    handlers = {t.handler: preparer.handlers[t.handler] for t in case.turns if t.handler in preparer.handlers}
    return ConversationPlan(case.turns, texts, preparer.turn_assertions.get(case.id, ()), handlers)


def dry_run_calls(plan: ConversationPlan, first: list[Call], binding_of: Callable[[Call], int]) -> list[Call]:
    """What a dry run lists for a conversation: every turn, the model's replies left empty (unknown yet).

    The later turns' prompts are estimates (tool results given in the suite, none from a handler),
    enough to count the calls and their input tokens.
    """
    calls = []
    for call in first:
        calls.append(call)
        history = list(call.messages)
        binding = binding_of(call)
        for turn in plan.turns[1:]:
            history.append({"role": "assistant", "content": ""})
            if turn.is_user:
                history.append({"role": "user", "content": plan.texts[binding][turn.index - 1]})
            else:
                given = turn.results.values() if isinstance(turn.results, dict) else turn.results or ()
                history += [{"role": "tool", "content": v if isinstance(v, str) else json.dumps(v)} for v in given]
            messages = tuple(history)
            calls.append(
                replace(call, messages=messages, turn=turn.index, request=replace(call.request, messages=messages))
            )
    return calls
