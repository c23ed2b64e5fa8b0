"""A case's ``turns:``: a multi-turn conversation that follows the prompt variant's messages.

Each entry is a ``user:`` turn (a template over the case's vars, rendered at load time like the
prompts) or a tool turn: ``tool_results:`` (a result per tool name, answering every call of that
name in the previous turn, or a list answering the previous turn's calls in order) and/or
``tool_handler: module:function`` (computes the results in Python; imported by the run, never by
``promptcheck lint``). Each entry has its own ``assert:``. Only the shape is checked here; the
handler is resolved in :mod:`..items.turns`, the conversation runs in :mod:`..items.conversation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Problem = Callable[[int, str], None]  # (line, message): the loader's problem list for this case


@dataclass(frozen=True)
class Turn:
    """One entry of ``turns:``; ``index`` counts from 1, as failure text names it (``turn 2``)."""

    index: int
    line: int
    user: str | None = None  # the user message template (a user turn)
    results: dict[str, Any] | tuple[Any, ...] | None = None  # tool_results: by tool name, or in call order
    handler: str | None = None  # tool_handler: module:function
    assertions: tuple[Any, ...] = ()  # AssertionSpec (suites.model imports this module)

    @property
    def is_user(self) -> bool:
        return self.user is not None

    def label(self) -> str:
        """How failure text names the turn: ``turn 2 (tool_results get_weather)``."""
        if self.is_user:
            return f"turn {self.index} (user)"
        if isinstance(self.results, dict):
            what = f"tool_results {', '.join(self.results)}"
        elif self.results is not None:
            what = f"tool_results [{len(self.results)}]"
        else:
            what = f"tool_handler {self.handler}"
        return f"turn {self.index} ({what})"


def parse_turns(
    raw: Any, item_lines: list[int], assertion: Callable[[Any, int], Any], problem: Problem, *, limit: int
) -> tuple[Turn, ...]:
    """The case's turns (``raw`` passed the schema); shape problems go to ``problem`` at the entry's line."""
    if raw is None:
        return ()
    if len(raw) > limit:
        problem(item_lines[0] if item_lines else 0,
                f"`turns` has {len(raw)} entries, more than {limit} (limits.turns); use fewer turns "
                "or raise [tool.promptcheck.limits] turns")  # fmt: skip
        return ()
    turns = []
    for index, (entry, line) in enumerate(zip(raw, item_lines), 1):
        asserts = entry.get("assert") or []
        asserts_lines = getattr(asserts, "item_lines", [line] * len(asserts))
        specs = tuple(assertion(item, item_line) for item, item_line in zip(asserts, asserts_lines))
        user, results, handler = entry.get("user"), entry.get("tool_results"), entry.get("tool_handler")
        if user is not None and (results is not None or handler is not None):
            problem(line, f"turn {index} is both a `user:` turn and a tool turn; split it into two entries")
        elif user is None and results is None and handler is None:
            problem(line, f"turn {index} has no `user:`, `tool_results:` or `tool_handler:`; give it one")
        elif user is None and index == 1:
            problem(line, "turn 1 answers tool calls, but no turn came before it; start `turns` with a `user:` turn")
        if handler is not None and ":" not in handler.strip(":"):
            problem(line, f"tool_handler {handler!r} is not `module:function` (e.g. tools:weather)")
        if isinstance(results, list):
            results = tuple(results)
        elif results is not None:
            results = dict(results)
        turns.append(Turn(index, line, user, results, handler, specs))
    return tuple(turns)


def check_tool_names(turns: tuple[Turn, ...], declared: list[str], problem: Problem) -> None:
    """A ``tool_results`` name must be a tool the case (or suite) declares (``tools:`` or ``tools_from:``).

    None declared: not checked (a python model may call tools no suite declares)."""
    if not declared:
        return
    for turn in turns:
        for name in turn.results if isinstance(turn.results, dict) else ():
            if name not in declared:
                problem(turn.line, f"turn {turn.index}: tool_results names unknown tool {name!r} "
                        f"(declared: {', '.join(map(repr, declared))}); fix the name or declare the tool under `tools:`")  # fmt: skip


def rendered_users(turns: tuple[Turn, ...], texts: tuple[dict[str, Any], ...]) -> tuple[str | None, ...]:
    """Each turn's rendered user text (None for tool turns), from the user variant's rendered messages."""
    out: list[str | None] = []
    found = iter(texts)
    for turn in turns:
        out.append(str(next(found)["content"]) if turn.is_user else None)
    return tuple(out)
