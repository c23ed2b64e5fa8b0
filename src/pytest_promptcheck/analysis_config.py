"""``[tool.promptcheck.analysis]``: the settings of the failure analysis and the data plan.

::

    [tool.promptcheck.analysis]
    gain = 0.2             # the improvement the next gate should be able to detect (pass-rate points / 100)
    power = 0.8            # the chance of detecting it that "cases to detect a gain" asks for
    vars = ["category"]    # case vars whose distribution is compared (suite, export, feedback)
    share_factor = 2.0     # flag a group whose export share differs from its reference share by more
    examples = 3           # example cases shown per weakness

The gate's ``alpha`` is the significance of the power computation (``[tool.promptcheck.gate]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import config_values as check
from .errors import ConfigError

ANALYSIS_KEYS = ("gain", "power", "vars", "share_factor", "examples")


@dataclass(frozen=True)
class AnalysisConfig:
    gain: float = 0.2
    power: float = 0.8
    vars: tuple[str, ...] = ()
    share_factor: float = 2.0
    examples: int = 3


def parse_analysis(table: Any, file: str) -> AnalysisConfig:
    """The ``[tool.promptcheck.analysis]`` table of ``file``; an unknown key or a bad value is a ConfigError."""
    at = f"{file}: [tool.promptcheck.analysis]"
    if not isinstance(table, dict):
        raise ConfigError(f"{at} must be a table, got {table!r}")
    unknown = set(table) - set(ANALYSIS_KEYS)
    if unknown:
        raise ConfigError(
            f"{at}: unknown key {', '.join(sorted(map(repr, unknown)))}; valid keys: {', '.join(ANALYSIS_KEYS)}"
        )
    names = table.get("vars", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise check.fail(f"{at} vars", 'a list of case variable names, e.g. ["category"]', names)
    return AnalysisConfig(
        gain=check.number(table.get("gain", 0.2), f"{at} gain", above=0, most=1),
        power=check.number(table.get("power", 0.8), f"{at} power", above=0, below=1),
        vars=tuple(names),
        share_factor=check.number(table.get("share_factor", 2.0), f"{at} share_factor", above=1),
        examples=check.whole(table.get("examples", 3), f"{at} examples", least=0),
    )
