"""The failure text of a prompt item: expected vs got, a diff for text, JSON path, score vs threshold.

Example::

    case 'double-charge' · prompt guided · model tuned (openai:gpt-4o-mini)
      ✗ json_path {'path': '$.category', 'equals': 'billing'}
          at $.category: expected 'billing', got 'account'
      ✓ is_json
      output: {"category": "account", "priority": "high"}
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

from ..providers.content import display_text
from ..providers.tool_calls import shown
from ..textutil import clip
from ..verdicts.evaluate import CallVerdict, CheckResult, Verdict

_MAX_CALLS_SHOWN = 3
_MAX_DIFF_LINES = 24
_MAX_VALUE = 300


Scrub = Callable[[str], str]


def _same(text: str) -> str:
    return text


def format_failure(verdict: Verdict, *, header: str, verbose: bool = False, scrub: Scrub = _same) -> str:
    """The text pytest shows for a failed prompt item (no traceback).

    ``scrub`` (the project's redactor) runs on outputs and values *before* they are quoted and clipped:
    scrubbing the finished text could miss a secret escaped by ``repr`` or cut in half by a clip.
    """
    lines = [header]
    failing = [c for c in verdict.calls if not c.passed]
    many = len(verdict.calls) > 1
    if verdict.min_pass is not None:
        passed = len(verdict.calls) - len(failing)
        needed = math.ceil(verdict.min_pass * len(verdict.calls) - 1e-9)
        lines.append(f"{passed}/{len(verdict.calls)} calls passed; min_pass {verdict.min_pass:g} needs {needed}")
    elif failing and failing[0].turn:  # a conversation: name the first failing turn and what failed on it
        first = failing[0].failed()
        what = f"{first[0].assertion.label()} failed" if first else f"score {failing[0].score:.2f}"
        lines.append(f"{len(failing)} of {len(verdict.calls)} turns failed; first {failing[0].turn}: {what}")
    elif many:
        lines.append(f"{len(failing)} of {len(verdict.calls)} calls failed")
    shown = failing if verbose else failing[:_MAX_CALLS_SHOWN]
    for call in shown:
        lines.extend(_call_lines(call, many=many, verbose=verbose, scrub=scrub))
    if len(failing) > len(shown):
        lines.append(f"... and {len(failing) - len(shown)} more failing calls (run with -v to see them all)")
    return "\n".join(lines)


def _call_lines(call: CallVerdict, *, many: bool, verbose: bool, scrub: Scrub) -> list[str]:
    lines = []
    if many:
        bits = [f"sample {call.sample_index}"] + [f"{k}={v!r}" for k, v in call.binding.items()]
        lines.append(f"- {call.turn} ({', '.join(bits)}):" if call.turn else f"- call ({', '.join(bits)}):")
    if call.threshold is not None:
        lines.append(f"  score {call.score:.2f} < threshold {call.threshold:.2f}")
    weighted = call.threshold is not None or any(r.assertion.spec.weight != 1 for r in call.results)
    for result in call.results:
        lines.extend(_result_lines(result, weighted=weighted, scrub=scrub))
    if verbose:
        lines.append("  prompt:")
        for message in call.messages:
            text = display_text(message.get("content")) + "".join(  # a conversation's history holds tool calls
                f" → {c.get('name')}({c.get('arguments')})" for c in message.get("tool_calls") or ()
            )
            lines.append(f"    [{message['role']}] " + _indent(scrub(text), "      ").lstrip())
    lines.append("  output: " + _indent(clip(scrub(call.completion.output), 800), "          ").lstrip())
    if call.completion.tool_calls:  # an answer that is tool calls has little or no text
        lines.append("  tool calls: " + ", ".join(scrub(shown(c)) for c in call.completion.tool_calls[:5]))
    return lines


def _result_lines(result: CheckResult, *, weighted: bool, scrub: Scrub) -> list[str]:
    outcome, spec = result.outcome, result.assertion.spec
    mark = "✓" if outcome.passed else "✗"
    line = f"  {mark} {result.assertion.label()}"
    if weighted:
        line += f"  [weight {spec.weight:g}, score {outcome.score:.2f}]"
    if spec.message:
        line += f"  — {spec.message}"
    lines = [line]
    if outcome.passed:
        return lines
    if outcome.diff and isinstance(outcome.expected, str) and isinstance(outcome.got, str):
        if outcome.reason:
            lines.append(f"      {outcome.reason}")
        lines.extend("      " + d for d in _diff(scrub(outcome.expected), scrub(outcome.got)))
        return lines
    if outcome.expected is not None or outcome.got is not None:
        lines.append(f"      {_expected_got(result, scrub)}")
        if outcome.reason:
            lines.append(f"      ({outcome.reason})")
    elif outcome.reason:
        lines.append(f"      {_where(result)}{outcome.reason}")
    return lines


def _where(result: CheckResult) -> str:
    return f"at {result.outcome.path}: " if result.outcome.path else ""


def _expected_got(result: CheckResult, scrub: Scrub) -> str:
    """``at $.x: expected [not ]'a', got 'b'`` (``not`` when a negated assertion decided)."""
    outcome = result.outcome
    negated = "not " if result.assertion.negate and outcome.definite else ""
    return f"{_where(result)}expected {negated}{_value(outcome.expected, scrub)}, got {_value(outcome.got, scrub)}"


def explain(result: CheckResult, scrub: Scrub = _same) -> str:
    """Why an assertion failed, on one line, as the failure text says it (the run record keeps this)."""
    outcome = result.outcome
    if outcome.passed:
        return outcome.reason
    if outcome.diff and isinstance(outcome.expected, str) and isinstance(outcome.got, str):
        shown = f"expected {_value(outcome.expected, scrub)}, got {_value(outcome.got, scrub)}"
        return f"{outcome.reason}: {shown}" if outcome.reason else shown
    if outcome.expected is not None or outcome.got is not None:
        text = _expected_got(result, scrub)
        return f"{text} ({outcome.reason})" if outcome.reason else text
    return f"{_where(result)}{outcome.reason}"


def _diff(expected: str, got: str) -> list[str]:
    diff = list(difflib.unified_diff(
        expected.splitlines(), got.splitlines(), "expected", "got", lineterm="", n=2
    ))  # fmt: skip
    if len(diff) > _MAX_DIFF_LINES:
        diff = [*diff[:_MAX_DIFF_LINES], f"... ({len(diff) - _MAX_DIFF_LINES} more diff lines)"]
    return diff


def _value(value: Any, scrub: Scrub) -> str:
    return clip(repr(scrub(value) if isinstance(value, str) else value), _MAX_VALUE)


def _indent(text: str, prefix: str) -> str:
    return text.replace("\n", "\n" + prefix)
