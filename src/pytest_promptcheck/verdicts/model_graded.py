"""Model-graded assertions: ``judge`` (alias ``rubric``) asks a configured model to grade an output.

The judge sees the rubric, the prompt the case rendered and the output, and answers with a JSON
verdict ``{"score": 0..1, "reason": "..."}``. The verdict is read leniently (see
:func:`parse_verdict`). One that cannot be read is asked again (``judge_retries`` times, default 1,
with the unreadable answer and a reminder of the format); still unreadable, the outcome is
*undecided* and marked ``details["undecided"] = "judge unreadable"``: the item then errors (no
verdict, infrastructure for the gate), never counts as a failure of the model. The judge's prompt
and raw verdict are kept in ``Outcome.details`` for the run record.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ProviderError
from ..providers.content import display_text
from ..textutil import clip
from .base import AssertionRegistry, BadArgument, CheckContext, Outcome, PrepareContext

_KEYS = ("rubric", "model", "min", "params")
JUDGE_UNREADABLE = "judge unreadable"
ASK_AGAIN = (
    "Your answer could not be read as a verdict. Reply again with the JSON object only, no other text: "
    '{"score": <a number from 0 to 1>, "reason": "<one or two sentences>"}'
)

SYSTEM_PROMPT = (
    "You are a strict, impartial grader. You grade one output of an AI system against a rubric.\n"
    "Judge only what the rubric asks for; do not reward length, confidence or style it does not mention.\n"
    'Answer with a JSON object only, no other text: {"score": <a number from 0 to 1>, "reason": "<one or '
    'two sentences>"}. A score of 1 means the output fully meets the rubric; 0 means it does not meet it at all.'
)
USER_TEMPLATE = (
    "Rubric:\n<rubric>\n{rubric}\n</rubric>\n\n"
    "The prompt the AI system was given:\n<prompt>\n{prompt}\n</prompt>\n\n"
    "The AI system's output:\n<output>\n{output}\n</output>\n\n"
    'Grade the output against the rubric. Reply with JSON only: {{"score": <0 to 1>, "reason": "..."}}'
)


@dataclass(frozen=True)
class JudgeArg:
    rubric: str
    model: str
    min: float
    params: dict[str, Any]
    retries: int = 1  # times an unreadable answer is asked again ([tool.promptcheck] judge_retries)


@dataclass(frozen=True)
class JudgeVerdict:
    """A verdict as read: ``score`` (0–1) or ``passed`` is set when it could be read at all."""

    score: float | None = None
    passed: bool | None = None
    reason: str = ""
    problem: str = ""  # why it could not be read

    @property
    def readable(self) -> bool:
        return self.score is not None or self.passed is not None


def _preparer(name: str) -> Callable[[Any, PrepareContext], JudgeArg]:
    """``prepare`` for ``judge`` or its alias ``rubric``: messages name what the user wrote."""

    def prepare(arg: Any, context: PrepareContext) -> JudgeArg:
        example = f"e.g. `- {name}: 'The reply is polite'` or `- {name}: {{rubric: 'The reply is polite', min: 0.7}}`"
        if isinstance(arg, str):
            arg = {"rubric": arg}
        if not isinstance(arg, dict):
            raise BadArgument(f"`{name}` needs a rubric text or {{rubric, model, min, params}}, got {arg!r}; {example}")
        unknown = set(arg) - set(_KEYS)
        if unknown:
            raise BadArgument(f"`{name}` has unknown key(s) {sorted(unknown)}; valid: {', '.join(_KEYS)}")
        rubric = arg.get("rubric")
        if not isinstance(rubric, str) or not rubric.strip():
            raise BadArgument(f"`{name}` needs a non-empty `rubric` text, got {rubric!r}; {example}")
        model = _judge_model(name, arg.get("model"), context)
        return JudgeArg(rubric.strip(), model, _min(name, arg), _params(name, arg), context.judge_retries)

    return prepare


def _judge_model(name: str, model: Any, context: PrepareContext) -> str:
    model = context.judge_model if model is None else model
    if model is None:
        raise BadArgument(
            f'`{name}` needs a grader model: set `[tool.promptcheck] judge = "MODEL"` in pyproject.toml '
            f"or name one in the assertion, e.g. `- {name}: {{rubric: 'The reply is polite', model: gpt}}`"
        )
    if not isinstance(model, str) or model not in context.models:
        known = ", ".join(sorted(context.models)) or "none"
        raise BadArgument(
            f"`{name}` model {model!r} is not a configured model (configured: {known}); "
            f"define [tool.promptcheck.model.{model}] or name a configured one"
        )
    return model


def _min(name: str, arg: dict[str, Any]) -> float:
    minimum = arg.get("min", 0.5)
    if isinstance(minimum, bool) or not isinstance(minimum, (int, float)) or not 0 <= minimum <= 1:
        raise BadArgument(f"`{name}` min is a score between 0 and 1, got {minimum!r}")
    return float(minimum)


def _params(name: str, arg: dict[str, Any]) -> dict[str, Any]:
    params = arg.get("params", {})
    if not isinstance(params, dict):
        raise BadArgument(f"`{name}` params must be a mapping (e.g. {{temperature: 0}}), got {params!r}")
    return params


GRADED_OUTPUT = "<the output being graded>"  # stands in for the output in a dry run's planned grader calls


def grading_messages(rubric: str, prompt: tuple[dict[str, Any], ...], output: str) -> list[dict[str, str]]:
    """The judge's prompt: a system message with the instructions, a user message with the material."""
    rendered = "\n".join(f"[{m.get('role', 'user')}] {display_text(m.get('content', ''))}" for m in prompt)
    user = USER_TEMPLATE.format(rubric=rubric, prompt=rendered, output=output)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def judge(output: str, arg: JudgeArg, context: CheckContext) -> Outcome:
    if context.call_model is None:
        return Outcome(False, 0.0, f"judge {arg.model!r}: no engine to call the judge model here", definite=False)
    messages = grading_messages(arg.rubric, context.messages, output)
    raw = _ask(context, arg, messages)
    verdict = parse_verdict(raw)
    for _ in range(arg.retries):  # asked again with its own answer in view: a new call, not a cache hit
        if verdict.readable:
            break
        messages = [*messages, {"role": "assistant", "content": raw}, {"role": "user", "content": ASK_AGAIN}]
        raw = _ask(context, arg, messages)
        verdict = parse_verdict(raw)
    details = {"judge_model": arg.model, "judge_prompt": messages, "judge_verdict": raw}
    if not verdict.readable:
        asked = f" (asked {arg.retries + 1} times)" if arg.retries else ""
        reason = f"judge {arg.model!r} gave a verdict that could not be read{asked} ({verdict.problem}): {_quote(raw)}"
        return Outcome(False, 0.0, reason, definite=False, details={**details, "undecided": JUDGE_UNREADABLE})
    if verdict.score is not None:
        score, passed = verdict.score, verdict.score >= arg.min - 1e-12
        head = f"judge {arg.model!r}: score {score:.2f} {'>=' if passed else '<'} min {arg.min:.2f}"
    else:
        passed = bool(verdict.passed)
        score, head = float(passed), f"judge {arg.model!r}: {'PASS' if passed else 'FAIL'}"
    reason = f"{head} — {verdict.reason}" if verdict.reason else head
    return Outcome(passed, score, reason, details={**details, "judge_reason": verdict.reason})


def _ask(context: CheckContext, arg: JudgeArg, messages: list[dict[str, str]]) -> str:
    assert context.call_model is not None
    try:
        return context.call_model(arg.model, messages, arg.params).output
    except ProviderError as exc:  # still a ProviderError (the item reports it), saying what was called
        detail = f"the judge call failed: {exc.detail}"
        raise ProviderError(exc.provider, exc.model, detail, status=exc.status) from exc


# -- reading a verdict ---------------------------------------------------------------------------

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z]*[ \t]*\n?(.*?)```", re.DOTALL)
_SCORE_TEXT = re.compile(r"\bscore\b[\s:=*]*(?:is|of)?[\s:=*]*(-?\d+(?:\.\d+)?)\s*(?:(/)\s*(\d+(?:\.\d+)?)|(%))?", re.I)
_LABELLED = re.compile(r"\b(?:verdict|result|grade|answer)\s*[:=]\s*\**\s*(pass(?:ed)?|fail(?:ed)?)\b", re.I)
_SHOUTED = re.compile(r"\b(PASS(?:ED)?|FAIL(?:ED)?)\b")
_REASON_TEXT = re.compile(r"\b(?:reason|because|explanation)\s*[:=]?\s*(.+)", re.I | re.DOTALL)
_PASS_WORDS = {"pass": True, "passed": True, "yes": True, "true": True, "fail": False, "failed": False}
_PASS_WORDS |= {"no": False, "false": False}


def parse_verdict(raw: str) -> JudgeVerdict:
    """Read a judge's answer, most specific first.

    1. a JSON object: the whole answer, else the first ``` fenced block, else the outermost ``{...}``;
       ``score`` (0–1) decides when present, else ``pass``/``passed``/``verdict`` (a bool or
       pass/fail/yes/no); ``reason`` (or ``explanation``/``rationale``) is the reason;
    2. text: ``score: 0.8`` (also ``8/10`` and ``80%``), else ``verdict: pass|fail``, else a
       standalone upper-case PASS or FAIL (both present is ambiguous, so unreadable).
    A ``<think>...</think>`` block is ignored. Anything else is unreadable.
    """
    text = _THINK.sub("", raw).strip()
    if not text:
        return JudgeVerdict(problem="empty answer")
    data = _json_object(text)
    if data is not None:
        return _from_json(data)
    return _from_text(text)


def _json_object(text: str) -> dict[str, Any] | None:
    candidates = [text, *(m.group(1) for m in _FENCE.finditer(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate.strip())
        except ValueError:
            continue
        if isinstance(value, dict):
            return {str(k).lower(): v for k, v in value.items()}
    return None


def _from_json(data: dict[str, Any]) -> JudgeVerdict:
    reason = next((str(data[k]) for k in ("reason", "explanation", "rationale") if data.get(k) is not None), "")
    if "score" in data:
        score = _as_score(data["score"])
        if score is None:
            return JudgeVerdict(reason=reason, problem=f"score {data['score']!r} is not a number from 0 to 1")
        return JudgeVerdict(score=score, reason=reason)
    for key in ("pass", "passed", "verdict"):
        if key in data:
            passed = _as_pass(data[key])
            if passed is None:
                return JudgeVerdict(reason=reason, problem=f"{key} {data[key]!r} is not pass/fail")
            return JudgeVerdict(passed=passed, reason=reason)
    return JudgeVerdict(reason=reason, problem='the JSON has neither "score" nor "pass"')


def _as_score(value: Any) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value.strip().rstrip("%")) / (100 if value.strip().endswith("%") else 1)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value) if 0 <= value <= 1 else None


def _as_pass(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return _PASS_WORDS.get(value.strip().lower()) if isinstance(value, str) else None


def _from_text(text: str) -> JudgeVerdict:
    reason_match = _REASON_TEXT.search(text)
    reason = clip(reason_match.group(1).strip() if reason_match else text, 300)
    score_match = _SCORE_TEXT.search(text)
    if score_match:
        number, slash, denominator, percent = score_match.groups()
        scale = float(denominator) if slash else (100.0 if percent else 1.0)
        score = float(number) / scale if scale else None
        if score is not None and 0 <= score <= 1:
            return JudgeVerdict(score=score, reason=reason)
        return JudgeVerdict(problem=f"score {score_match.group(0).strip()!r} is not from 0 to 1")
    labelled = _LABELLED.search(text)
    words = {_PASS_WORDS[m.lower()] for m in ([labelled.group(1)] if labelled else _SHOUTED.findall(text))}
    if len(words) == 1:
        return JudgeVerdict(passed=words.pop(), reason=reason)
    problem = "it says both PASS and FAIL" if words else "no JSON verdict, score or PASS/FAIL found"
    return JudgeVerdict(problem=problem)


def _quote(raw: str) -> str:
    return repr(clip(raw.strip(), 300))


def register(registry: AssertionRegistry) -> None:
    for name in ("judge", "rubric"):
        registry.register(name, judge, prepare=_preparer(name), example=f"`- {name}: 'The reply is polite'`")
