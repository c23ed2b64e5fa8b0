"""Assertion types, their registry, and what checking one produces.

An assertion type is a ``check(output, arg, context)`` function plus an optional ``prepare(arg,
context)`` that validates and compiles the argument once, at collection (so a bad regex or a
missing schema file is a collection error at the assertion's line, not a test failure).

``check`` returns ``bool``, a score in [0, 1], a dict ``{"pass", "score", "reason"}`` or an
:class:`Outcome`; :func:`to_outcome` normalises all of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config_models import ModelConfig
    from ..providers.base import Completion
    from ..suites.limits import SuitePolicy
    from ..suites.model import Case


class BadArgument(ValueError):
    """Raised by ``prepare`` for an invalid argument; the message ends with an example of a valid one."""


class NotLoaded(BadArgument):
    """Raised by ``prepare`` under ``promptcheck lint`` instead of importing user code: a note, not a problem."""


@dataclass(frozen=True)
class Outcome:
    """The result of one assertion on one output; ``score`` is on a 0–1 scale."""

    passed: bool
    score: float
    reason: str = ""
    expected: Any = None
    got: Any = None
    path: str | None = None  # the JSON path that differed, for structure assertions
    diff: bool = False  # show a unified diff of expected vs got
    definite: bool = True  # False when the check could not be decided (e.g. usage not reported)
    details: dict[str, Any] | None = None  # kept for the run record, e.g. a judge's prompt and raw verdict

    def negated(self) -> Outcome:
        """The outcome of ``not``; an undecided check fails either way (unknown is not "not")."""
        if not self.definite:
            return self
        return Outcome(
            not self.passed,
            1.0 - self.score,
            f"not: {self.reason}" if self.reason else "",
            self.expected,
            self.got,
            self.path,
            details=self.details,
        )


@dataclass(frozen=True)
class PrepareContext:
    """What ``prepare`` may use: the suite's folder (relative paths) and the rootdir (imports)."""

    suite_dir: Path
    rootdir: Path
    cache: dict[Any, Any] = field(default_factory=dict)  # per-suite memo, e.g. loaded schema files
    judge_model: str | None = None  # [tool.promptcheck] judge: default grader for judge/rubric
    judge_retries: int = 1  # [tool.promptcheck] judge_retries: asking an unreadable judge again
    embedding_model: str | None = None  # [tool.promptcheck] embedding_model: default for `similar`
    models: tuple[str, ...] = ()  # configured model names, to check a grader named in an argument
    policy: SuitePolicy | None = None  # where named files may lie (json_schema); None: suite_dir's project
    lint: bool = False  # `promptcheck lint`: import no user code (raise NotLoaded saying what would be)


@dataclass(frozen=True)
class CheckContext:
    """What ``check`` may use besides the output text."""

    completion: Completion
    case: Case
    model: ModelConfig
    variant: str
    messages: tuple[dict[str, Any], ...]
    item_id: str
    snapshot_key: str  # item id plus sample / counterfactual suffix (calls.keys.snapshot_key)
    suite_path: Path
    snapshots: Any = None  # the suite's SnapshotStore (``get(key)``, ``describe()``)
    # Calls another configured model by name (judges, graders): ``call_model(name, messages, params)``
    # returns its Completion; failures raise ProviderError. None where no engine is available.
    call_model: Callable[[str, list[dict[str, str]], dict[str, Any] | None], Completion] | None = None

    @property
    def vars(self) -> dict[str, Any]:
        return self.case.vars


Check = Callable[[str, Any, CheckContext], Any]
Prepare = Callable[[Any, PrepareContext], Any]


@dataclass(frozen=True)
class AssertionType:
    name: str
    check: Check
    prepare: Prepare | None = None
    arg: str = "required"  # "required", "optional" or "none"
    example: str = ""

    def prepared(self, arg: Any, context: PrepareContext) -> Any:
        if self.arg == "required" and arg is None:
            raise BadArgument(f"`{self.name}` needs an argument; e.g. {self.example or f'- {self.name}: ...'}")
        if self.arg == "none" and arg is not None:
            raise BadArgument(f"`{self.name}` takes no argument; write it bare: `- {self.name}`")
        return self.prepare(arg, context) if self.prepare is not None else arg


class AssertionRegistry:
    """Name → :class:`AssertionType`; ``not_<name>`` resolves to ``<name>`` negated."""

    def __init__(self) -> None:
        self._types: dict[str, AssertionType] = {}

    def register(
        self,
        name: str,
        check: Check,
        *,
        prepare: Prepare | None = None,
        arg: str = "required",
        example: str = "",
        replace: bool = False,
    ) -> None:
        """Register an assertion ``name``; ``check(output, arg, context)`` returns bool/score/dict/Outcome."""
        if arg not in ("required", "optional", "none"):
            raise ValueError("arg must be 'required', 'optional' or 'none'")
        if name in self._types and not replace:
            raise ValueError(f"assertion {name!r} is already registered; pass replace=True to override it")
        self._types[name] = AssertionType(name, check, prepare, arg, example)

    def resolve(self, name: str) -> tuple[AssertionType, bool] | None:
        """The type for ``name`` and whether it is negated (``not_contains``), or None when unknown."""
        if name in self._types:
            return self._types[name], False
        if name.startswith("not_") and name[4:] in self._types:
            return self._types[name[4:]], True
        return None

    def names(self) -> list[str]:
        return sorted(self._types)

    def suggest(self, name: str) -> list[str]:
        candidates = self.names() + [f"not_{n}" for n in self.names()]
        return difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)


def to_outcome(value: Any, name: str) -> Outcome:
    """Normalise what a check returned (bool, number, dict, Outcome)."""
    if isinstance(value, Outcome):
        return value
    if isinstance(value, bool):
        return Outcome(value, 1.0 if value else 0.0)
    if isinstance(value, (int, float)):
        score = _score(value, name)
        return Outcome(score >= 0.5, score, f"score {score:.2f}")
    if isinstance(value, dict) and "pass" in value:
        passed = bool(value["pass"])
        score = _score(value.get("score", 1.0 if passed else 0.0), name)
        return Outcome(passed, score, str(value.get("reason", "")))
    raise TypeError(
        f"assertion `{name}` returned {type(value).__name__}; return bool, a score in [0, 1], "
        "or a dict with 'pass' (and optional 'score', 'reason')"
    )


def _score(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"assertion `{name}` returned score {value!r}; scores are numbers between 0 and 1")
    return float(value)
