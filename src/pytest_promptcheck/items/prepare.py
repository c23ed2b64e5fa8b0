"""Collection-time checks that need plugins and config (models, assertions), and assertion preparation."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, SuiteError, SuiteProblem
from ..session import PromptSession, Registries
from ..suites.model import Case, Suite
from ..textutil import plain
from ..verdicts.base import BadArgument, NotLoaded, PrepareContext
from ..verdicts.evaluate import PreparedAssertion

if TYPE_CHECKING:
    import pytest


_UNPREPARED = object()


class CasePreparer:
    """Checks what needs plugins and config (tags, models, assertions) and prepares assertion arguments."""

    def __init__(self, node: pytest.File, state: PromptSession, suite: Suite, registries: Registries) -> None:
        self.node = node
        self.state = state
        self.suite = suite
        self.registries = registries
        self.problems: list[SuiteProblem] = []
        self.notes: list[SuiteProblem] = []  # under lint: what was not checked (user code not imported)
        self._prepared: dict[tuple[str, str], Any] = {}
        # A multi-turn case's assertions per turn (the case's own on the last), and its tool handlers.
        self.turn_assertions: dict[str, tuple[tuple[PreparedAssertion, ...], ...]] = {}
        self.handlers: dict[str, Any] = {}
        self._seen: dict[tuple[Path, int, str], SuiteProblem] = {}
        project = state.project
        self.context = PrepareContext(
            node.path.parent, node.config.rootpath, judge_model=project.judge, judge_retries=project.judge_retries,
            embedding_model=project.embedding_model, models=tuple(project.models),
            policy=project.suite_policy(node.config.rootpath), lint=bool(node.config.option.pc_lint),
        )  # fmt: skip

    def prepare_all(self) -> dict[str, tuple[PreparedAssertion, ...]]:
        prepared = {case.id: self._case(case) for case in self.suite.cases}
        if not self.state.project.models and not self.problems:
            self._problem(
                None,
                1,
                "no model is configured; add [tool.promptcheck.model.NAME] to pyproject.toml "
                "or pass --pc-model NAME=python:module:function",
            )
        base = Path(self.node.config.invocation_params.dir)
        self.state.lint_notes.extend(str(_shown(note, base)) for note in self.notes)
        if self.problems:
            raise SuiteError(self.problems)
        return prepared

    def _problem(self, case: Case | None, line: int, message: str) -> None:
        path = case.source if case is not None and case.source is not None else self.suite.path
        seen = self._seen.get((path, line, message))
        if seen is not None:  # the same line for several cases: it is in `defaults`, not one case's
            seen.case = None
            return
        self._seen[(path, line, message)] = problem = SuiteProblem(path, line, message, case.id if case else None)
        self.problems.append(problem)

    def _note(self, case: Case, line: int, message: str) -> None:
        path = case.source if case.source is not None else self.suite.path
        if not any(n.path == path and n.line == line and n.message == message for n in self.notes):
            self.notes.append(SuiteProblem(path, line, message))

    def _case(self, case: Case) -> tuple[PreparedAssertion, ...]:
        for name in case.models or ():
            if name not in self.state.project.models:
                known = ", ".join(sorted(self.state.project.models)) or "none"
                self._problem(
                    case,
                    case.models_line or case.line,
                    f"unknown model {name!r} (configured: {known}); define [tool.promptcheck.model.{name}] "
                    f"or remove it from `models`",
                )
        own = tuple(filter(None, (self._assertion(case, spec) for spec in case.assertions)))
        if case.turns:
            self._turns(case, own)
        return own

    def _turns(self, case: Case, own: tuple[PreparedAssertion, ...]) -> None:
        """Each turn's assertions, prepared like the case's; each tool handler imported (not by lint)."""
        per_turn = [tuple(filter(None, (self._assertion(case, s) for s in t.assertions))) for t in case.turns]
        per_turn[-1] += own
        self.turn_assertions[case.id] = tuple(per_turn)
        for turn in case.turns:
            if turn.handler is None or turn.handler in self.handlers:
                continue
            if self.context.lint:
                self._note(case, turn.line, f"would import {turn.handler} (tool_handler); not imported by lint")
                continue
            from .tool_handler import resolve_handler

            try:
                self.handlers[turn.handler] = resolve_handler(turn.handler, self.context.rootdir, self.context.policy)
            except ConfigError as exc:
                self._problem(case, turn.line, f"turn {turn.index}: {exc}")

    def _assertion(self, case: Case, spec: Any) -> PreparedAssertion | None:
        if spec.name == "<invalid>":
            return None  # already reported by the loader
        resolved = self.registries.assertions.resolve(spec.name)
        if resolved is None:
            hint = self.registries.assertions.suggest(spec.name)
            if self.context.lint and not hint:  # maybe a conftest.py registers it; lint does not load one
                self._note(
                    case,
                    spec.line,
                    f"assertion {spec.name!r} is not built in; lint does not load conftest.py, so it is not checked",
                )
                return None
            did_you_mean = f"did you mean {' or '.join(map(repr, hint))}? " if hint else ""
            self._problem(
                case,
                spec.line,
                f"unknown assertion {spec.name!r}; {did_you_mean}known: {', '.join(self.registries.assertions.names())} "
                "(custom ones register through pytest_promptcheck_register_assertions)",
            )
            return None
        kind, negated = resolved
        # Cases share assertions (defaults, generated suites): prepare each distinct argument once.
        memo_key = (spec.name, repr(spec.arg))
        arg = self._prepared.get(memo_key, _UNPREPARED)
        if arg is _UNPREPARED:
            try:
                arg = kind.prepared(plain(spec.arg), self.context)
            except NotLoaded as exc:
                self._note(case, spec.line, str(exc))
                return None
            except BadArgument as exc:
                self._problem(case, spec.line, str(exc))
                return None
            self._prepared[memo_key] = arg
        return PreparedAssertion(spec, kind, arg, negate=negated != spec.negate)


def _shown(problem: SuiteProblem, base: Path) -> SuiteProblem:
    """The problem with its path relative to ``base`` where it lies below it (as collection errors show it)."""
    try:
        return dataclasses.replace(problem, path=problem.path.relative_to(base))
    except ValueError:
        return problem
