"""The hostile corpus: inputs written as an attacker or a careless user would (issue 14).

Each class of input has its own module here holding ``ENTRIES``, a list of :class:`Hostile`; one
test (``tests/test_hostile.py``) runs every entry in a fresh project, in a child process with a
timeout, and checks the same things of each: exit status not 0 (or ``status``), every ``expect``
pattern in the output (fnmatch, as ``fnmatch_lines``), no traceback or INTERNALERROR, no hang,
and no ``forbidden`` file created (a marker a code-execution attempt would write).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field

# A model that answers with the last message: what a suite sends is what the record shows.
APP = """
def echo(messages, params):
    return messages[-1]["content"]
"""

PYPROJECT = """
[tool.promptcheck]
models = ["echo"]

[tool.promptcheck.model.echo]
provider = "python"
function = "app:echo"
"""

GOOD_SUITE = """
prompts:
  p: "{{ reply }}"
cases:
  - id: one
    vars: { reply: hello }
    assert: [ { contains: hello } ]
"""


@dataclass(frozen=True)
class Hostile:
    """One hostile input: a project's files, the command run on it, what its output must say."""

    name: str  # unique across the corpus; the test's id
    files: dict[str, str | bytes]  # path (relative to the project) -> content; app.py/pyproject.toml default as above
    expect: tuple[str, ...]  # fnmatch patterns, each matching some line of stdout+stderr
    args: tuple[str, ...] = ()  # pytest arguments (after `-p no:cacheprovider`), or the CLI's after `promptcheck`
    command: str = "pytest"  # "pytest" or "promptcheck"
    status: int | None = None  # None: any status but 0
    forbidden: tuple[str, ...] = ()  # paths (relative, or absolute) that must not exist afterwards
    timeout: float = 60.0  # seconds; past it the entry hangs and fails
    note: str = ""  # what the input tries
    setup: tuple[str, ...] = field(default=())  # shell commands run in the project first (mkfifo, chmod)


def entries() -> dict[str, list[Hostile]]:
    """Every class module's entries, by class (the module's name)."""
    found: dict[str, list[Hostile]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[info.name] = list(module.ENTRIES)
    return found
