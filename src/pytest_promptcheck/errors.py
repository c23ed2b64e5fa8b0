"""The exceptions pytest-promptcheck raises, and what each means to a user.

    PromptcheckError                 base of everything below
    ├── SuiteError                   a suite file is invalid (collection error at file:line)
    ├── ConfigError                  [tool.promptcheck] / --pc-* options are invalid (usage error)
    ├── MissingDependencyError       an optional extra is not installed (says what to pip install)
    ├── ProviderError                a model call failed after the engine gave up (item *error*)
    └── PromptAssertionError         an output did not meet its assertions (item *failure*);
                                     defined beside the verdict it carries, in verdicts/evaluate.py

Only ``PromptAssertionError`` is a test failure; the others are errors, so a broken suite or an
unreachable model is never mistaken for a model that answered wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class PromptcheckError(Exception):
    """Base class of pytest-promptcheck's own errors."""


@dataclass
class SuiteProblem:
    """One problem found in a suite file; ``line`` is 1-based (0 when unknown)."""

    path: Path
    line: int
    message: str
    case: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        case = f" [case {self.case!r}]" if self.case else ""
        return f"{where}:{case} {self.message}"


class SuiteError(PromptcheckError):
    """A suite file cannot be collected; carries every problem found in it."""

    def __init__(self, problems: list[SuiteProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @classmethod
    def at(cls, path: Path, line: int, message: str, case: str | None = None) -> SuiteError:
        return cls([SuiteProblem(path, line, message, case)])


class ConfigError(PromptcheckError):
    """The project configuration or a command-line option is invalid."""


class MissingDependencyError(PromptcheckError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(
            f"{feature} requires optional dependencies. Install with: pip install 'pytest-promptcheck[{extra}]'"
        )


class ProviderError(PromptcheckError):
    """A model call failed: names provider, model, status and message.

    ``retryable`` tells the engine whether trying again can help (429, 5xx, timeouts, dropped
    connections); ``retry_after`` is the server's requested wait in seconds, parsed by the provider
    from ``retry-after-ms`` / ``Retry-After`` (see ``providers.base.parse_retry_after``).
    """

    def __init__(
        self,
        provider: str,
        model: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        connection: bool = False,
    ) -> None:
        self.provider = provider
        self.model = model
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.connection = connection  # no answer at all: refused, dropped, unresolvable (not a timeout)
        self.detail = message
        status_part = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{provider} model {model!r}{status_part}: {message}")


class PromptcheckWarning(UserWarning):
    """Something a run should tell a person without failing it (e.g. chat-template drift)."""
