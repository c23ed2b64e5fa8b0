"""What a suite file holds once loaded: prompt variants, cases and their assertions.

These are plain frozen dataclasses with line numbers kept, so that anything found wrong later
(an unknown model, a bad assertion argument) can still be reported at ``file:line``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..textutil import short
from .parts import PartTemplate
from .turns import Turn


@dataclass(frozen=True)
class MessageTemplate:
    """One chat message of a prompt variant; ``content`` is a Jinja2 template source, or ``parts``
    (text and images, each templated) when the message is a list of content parts."""

    role: str
    content: str
    parts: tuple[PartTemplate, ...] = ()


@dataclass(frozen=True)
class PromptVariant:
    """A named prompt under debugging; a plain string prompt is one user message."""

    name: str
    messages: tuple[MessageTemplate, ...]
    line: int


@dataclass(frozen=True)
class AssertionSpec:
    """One ``name: argument`` entry of a case's ``assert`` list, with its modifiers."""

    name: str
    arg: Any
    line: int
    weight: float = 1.0
    negate: bool = False
    message: str | None = None

    def label(self) -> str:
        """How the assertion reads in failure output, e.g. ``not contains 'refund'``."""
        text = self.name if self.arg is None else f"{self.name} {short(self.arg, 60)}"
        return f"not {text}" if self.negate else text


@dataclass(frozen=True)
class RepeatSpec:
    """``repeat: 5`` or ``repeat: {n: 5, min_pass: 0.8}``: samples per call within one item."""

    n: int = 1
    min_pass: float | None = None


@dataclass(frozen=True)
class Case:
    """One case of a suite, with the suite's ``defaults`` already merged in."""

    id: str
    line: int
    vars: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    models: tuple[str, ...] | None = None
    models_line: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    assertions: tuple[AssertionSpec, ...] = ()
    ideal: str | None = None
    repeat: RepeatSpec = RepeatSpec()
    counterfactual: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    threshold: float | None = None
    description: str | None = None
    source: Path | None = None  # the cases_from file the case came from, when not the suite itself
    # A cases_from row's own chat messages, sent as they are instead of every prompt variant.
    messages: tuple[MessageTemplate, ...] | None = None
    turns: tuple[Turn, ...] = ()  # a multi-turn conversation after the variant's messages (suites/turns.py)
    ideal_tool_call: dict[str, Any] | None = None  # a tool call {name, args} as the export's target
    # Tools in OpenAI's flat function form and the choice (suites/tools.py): the case's, else the suite's.
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: Any = None


@dataclass(frozen=True)
class Suite:
    """A loaded and validated suite file."""

    path: Path
    description: str | None
    variants: tuple[PromptVariant, ...]
    cases: tuple[Case, ...]
    metrics: dict[str, Any]
    digest: str  # sha256 of the suite file and every file it references
    dependencies: tuple[Path, ...] = ()  # referenced files (schemas, includes, cases_from)

    @property
    def name(self) -> str:
        """The suite name: the file name without ``.prompts.yaml`` / ``.prompts.yml``."""
        base = self.path.name
        for suffix in (".prompts.yaml", ".prompts.yml", ".yaml", ".yml"):
            if base.endswith(suffix):
                return base[: -len(suffix)]
        return base


Messages = tuple[dict[str, Any], ...]


class LoadedSuite:
    """A :class:`Suite` plus the prompts rendered for every case × variant × counterfactual value.

    Rendered once at load time (and kept in the parse cache), so collection never re-renders.
    """

    def __init__(
        self,
        suite: Suite,
        rendered: dict[tuple[str, str], tuple[Messages, ...]],
        turn_texts: dict[str, tuple[tuple[str | None, ...], ...]] | None = None,
    ) -> None:
        self.suite = suite
        self.rendered = rendered
        # A multi-turn case's rendered user turns, per counterfactual binding (None for tool turns).
        self.turn_texts = turn_texts or {}


def bindings(case: Case) -> list[dict[str, Any]]:
    """The counterfactual assignments of a case (the product of its value lists), or one empty one."""
    if not case.counterfactual:
        return [{}]
    keys = list(case.counterfactual)
    return [dict(zip(keys, combo)) for combo in itertools.product(*case.counterfactual.values())]
