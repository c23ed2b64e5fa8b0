"""``promptcheck plan RUN``: the data plan of a run: what to export per weakness, and what the gate can show.

Per weakness: failing cases, rows with an ``ideal``, rows a passing model could label, rows that need
a person, what the export trains on with the given choices (``--side``, ``--split``, ``--target``,
``--variants``, ``--rehearsal``, ``--balance``, ``--seed``; the project's ``[tool.promptcheck.export]``
and the run's seed where not given, as ``promptcheck export`` has them: the plan counts the rows that
export writes), the held-out cases and the cases needed to detect a gain at the next gate; the memorisation traps;
then representativeness (suite, export, feedback). ``--json``: the report's ``analysis.plan`` and
``analysis.representativeness``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .analyze import arguments, load


def register(commands: Any) -> None:
    parser = commands.add_parser("plan", help="the data plan: what to export per weakness, what the gate can show")
    arguments(parser)
    parser.set_defaults(handler=_cmd_plan)


def _cmd_plan(args: argparse.Namespace) -> int:
    from ..outputs.analysis_report import plan_json, shares_json
    from ..outputs.analysis_text import plan_lines

    analysis = load(args, "plan")
    if analysis is None:
        return 1
    if args.json:
        data = {"plan": plan_json(analysis.plan), "representativeness": shares_json(analysis.representativeness)}
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print("\n".join(plan_lines(analysis)))
    return 0
