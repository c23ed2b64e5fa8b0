"""``--pc-export-target/-variants/-rehearsal/-balance``: the export choices on the command line.

They override ``[tool.promptcheck.export]`` key by key (:meth:`.outputs.export_choices.ExportChoices.merged`);
:mod:`.options` adds them to the promptcheck group and builds the exporter's options with them.
"""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from . import config_values as check
from .outputs.export_choices import BALANCES, TARGETS, VARIANTS, ExportChoices, rehearsal_share

_FLAGS = {"target": "pc_export_target", "variants": "pc_export_variants", "rehearsal": "pc_export_rehearsal",
          "balance": "pc_export_balance"}  # fmt: skip


def add_export_choice_options(group: Any) -> None:
    group.addoption(
        "--pc-export-target", choices=list(TARGETS), metavar="TARGET",
        help="each row's target: ideal (default), passing (a passing model's output on the same prompt), "
        "ideal-or-passing",
    )  # fmt: skip
    group.addoption(
        "--pc-export-variants", choices=list(VARIANTS), metavar="WHICH",
        help="failing (default) or all: every prompt variant of a failing case",
    )  # fmt: skip
    group.addoption(
        "--pc-export-rehearsal", type=check.option_type("--pc-export-rehearsal", rehearsal_share), metavar="F",
        help="share of the training file from cases that pass on the exported side (0 <= F < 1, default 0)",
    )  # fmt: skip
    group.addoption(
        "--pc-export-balance", choices=list(BALANCES), metavar="HOW",
        help="none (default) or tag: cap the rows of each weakness (first tag) at the median count",
    )  # fmt: skip


def check_export_choice_options(option: argparse.Namespace) -> None:
    given = [f"--pc-export-{key}" for key, dest in _FLAGS.items() if getattr(option, dest) is not None]
    if given and not option.pc_export:
        raise pytest.UsageError(f"{', '.join(given)} needs --pc-export PATH (where the training file goes)")


def export_choices(option: argparse.Namespace, configured: ExportChoices) -> ExportChoices:
    """The config's choices with each flag given on the command line on top (CLI > config)."""
    return configured.merged({key: getattr(option, dest) for key, dest in _FLAGS.items()})
