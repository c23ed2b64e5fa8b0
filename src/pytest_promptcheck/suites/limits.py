"""What a suite may ask of the machine: where its files may lie and how big it may grow.

A suite is untrusted input (a pull request's YAML is data a reviewer reads), so loading and
rendering it is bounded: files only under the project's roots, sizes and counts capped. Each limit
has a documented default a real project never reaches and can be raised under
``[tool.promptcheck.limits]``; going past one is an error that names the limit and the key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

_MIB = 1024 * 1024
_ROOT_MARKERS = ("pyproject.toml", "pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg")


@dataclass(frozen=True)
class SuiteLimits:
    """``[tool.promptcheck.limits]``: each a key of that table (documented in the README's "Limits")."""

    suite_bytes: int = 16 * _MIB  # one suite file
    file_bytes: int = 16 * _MIB  # one file a suite names: file(), prompts_from, cases_from, json_schema
    image_bytes: int = 20 * _MIB  # one image a prompt's content parts name (`image: {path: ...}`)
    yaml_aliases: int = 1_000  # alias uses (`*name`) in one suite: a "billion laughs" needs many
    yaml_nodes: int = 2_000_000  # values after expanding aliases
    depth: int = 64  # nesting of mappings/lists
    rendered_chars: int = 1_000_000  # one rendered prompt message
    template_steps: int = 1_000_000  # loop iterations and range() items while rendering one template
    repeat: int = 1_000  # a case's repeat count (and --pc-repeat)
    counterfactual: int = 256  # values of one case's counterfactual swaps, multiplied together
    calls: int = 1_000_000  # calls one suite plans (cases x variants x models x repeats x swaps)
    turns: int = 50  # entries of one case's `turns:` conversation (each is a call)
    tools: int = 128  # tools one call may send (`tools:` / `tools_from:`; OpenAI's own cap is 128)

    @classmethod
    def from_table(cls, table: Any, source: str) -> SuiteLimits:
        """The limits of ``[tool.promptcheck.limits]``; a wrong key or value raises ``ConfigError``."""
        from ..errors import ConfigError

        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: `limits` must be a table ([tool.promptcheck.limits]), got {table!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(
                f"{source}: unknown key {', '.join(map(repr, unknown))} in [tool.promptcheck.limits]; "
                f"valid keys: {', '.join(sorted(known))}"
            )
        values = {}
        for key, value in table.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"{source}: limits.{key} must be a whole number of at least 1, got {value!r}; "
                    f"the default is {getattr(cls(), key)}"
                )
            values[key] = value
        return cls(**values)


@dataclass(frozen=True)
class SuitePolicy:
    """Where a suite's files may be read from, and its limits: one object the loader carries."""

    roots: tuple[Path, ...]  # resolved: pytest's rootdir first, then `allow_paths`
    limits: SuiteLimits = SuiteLimits()

    @classmethod
    def for_root(cls, root: Path, allow_paths: tuple[Path, ...] = (), limits: SuiteLimits | None = None) -> SuitePolicy:
        return cls((root.resolve(), *(p.resolve() for p in allow_paths)), limits or SuiteLimits())

    @classmethod
    def nearest(cls, suite: Path) -> SuitePolicy:
        """For a suite read outside a pytest run (the CLI): rooted where pytest would put rootdir.

        That is the nearest folder above the suite holding a pytest config file, else the suite's own
        folder. A project's ``allow_paths`` and ``limits`` come from its configuration, not from here.
        """
        start = suite.resolve().parent
        for folder in (start, *start.parents):
            if any((folder / name).is_file() for name in _ROOT_MARKERS):
                return cls.for_root(folder)
        return cls.for_root(start)

    def allows(self, path: Path) -> bool:
        """Whether resolved ``path`` lies under one of the roots."""
        return any(path == root or path.is_relative_to(root) for root in self.roots)

    def key(self) -> str:
        """A digest of the policy: a suite parsed under other limits or roots is parsed again."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:16]


def planned_calls_message(limit: int, product: str) -> str:
    """The error for a suite that plans more than ``limits.calls`` calls (here and in the collector)."""
    return (
        f"the suite plans more than {limit} calls by this case ({product}; limits.calls); "
        "split the suite, trim repeats or values, or raise [tool.promptcheck.limits] calls"
    )
