"""What each exported row contains: ``[tool.promptcheck.export]`` and ``--pc-export-target/-variants/-rehearsal/-balance``.

``--pc-export-side`` chooses *whose* failures are exported; these choose the rows (SPEC §10)::

    target     ideal | passing | ideal-or-passing   the assistant turn: the case's `ideal`, or the output
                                                    of a model that passed the same case, variant and
                                                    rendered prompt (DPO: chosen = it, rejected = the failure)
    variants   failing | all                        all: every prompt variant of a failing case too
    rehearsal  F in [0, 1)                          share of the training file's rows from passing cases
    balance    none | tag                           cap the rows of each weakness (first tag) at the median

Precedence: the command line, then the config table, then these defaults (:meth:`ExportChoices.merged`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .. import config_values as check
from ..errors import ConfigError

TARGETS = ("ideal", "passing", "ideal-or-passing")
VARIANTS = ("failing", "all")
BALANCES = ("none", "tag")
KEYS = ("target", "variants", "rehearsal", "balance")


@dataclass(frozen=True)
class ExportChoices:
    target: str = "ideal"
    variants: str = "failing"
    rehearsal: float = 0.0
    balance: str = "none"

    @classmethod
    def from_table(cls, table: Any, file: str) -> ExportChoices:
        """``[tool.promptcheck.export]`` of ``file``, every value checked (a wrong one names the key and the fix)."""
        at = f"{file}: [tool.promptcheck.export]"
        if not isinstance(table, dict):
            raise ConfigError(f"{at} must be a table, got {table!r}")
        unknown = sorted(set(table) - set(KEYS))
        if unknown:
            raise ConfigError(f"{at}: unknown key {', '.join(map(repr, unknown))}; valid: {', '.join(KEYS)}")
        return cls().merged(table, where=lambda key: f"{at} {key}")

    def merged(self, values: Mapping[str, Any], *, where: Any = None) -> ExportChoices:
        """These choices with ``values`` (None: keep) on top, checked; ``where(key)`` names a value in errors."""
        name = where or (lambda key: f"--pc-export-{key}")
        given = {k: v for k, v in values.items() if v is not None}
        for key, valid in (("target", TARGETS), ("variants", VARIANTS), ("balance", BALANCES)):
            if key in given and given[key] not in valid:
                raise check.fail(name(key), "one of " + ", ".join(valid), given[key])
        if "rehearsal" in given:
            given["rehearsal"] = rehearsal_share(given["rehearsal"], name("rehearsal"))
        return replace(self, **given)

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "variants": self.variants, "rehearsal": self.rehearsal, "balance": self.balance}


def rehearsal_share(value: Any, where: str) -> float:
    """A share of rows in [0, 1): 1 would leave no room for the failures."""
    return check.number(value, where, least=0, below=1)
