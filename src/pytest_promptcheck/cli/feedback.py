"""``promptcheck import-feedback FEEDBACK.jsonl --into FILE``: user feedback becomes cases (SPEC §11).

Each row: ``vars`` (object), ``output`` (the bad output), optional ``correction``, ``rating``,
``tags``, ``id`` (else ``fb-<8 hex of the vars>``). With a correction the case gets it as
``ideal`` and a ``fuzzy`` assertion on it; without one it asserts ``not_equals`` the bad output.
Every row is validated first: bad rows are reported with their row number and nothing is
written. The cases are appended without changing any other byte of the file (:mod:`.yaml_edit`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..textutil import clip
from .yaml_edit import FUZZY_MIN, EditError, appended_text, existing_ids, load_round_trip, write_validated

_ROW_KEYS = {"vars", "output", "correction", "rating", "tags", "id"}
_ID = re.compile(r"^[A-Za-z0-9_.:/@+-]+$")
_PROGRESS_EVERY = 500


def register(commands: Any) -> None:
    """``import-feedback``, kept as the alias of ``import feedback`` (:mod:`.import_cmd`)."""
    arguments(commands.add_parser("import-feedback", help="the same as `promptcheck import feedback`"))


def arguments(feedback: argparse.ArgumentParser) -> None:
    feedback.add_argument("feedback", metavar="FEEDBACK.jsonl", help="one JSON object per line")
    feedback.add_argument("--into", required=True, metavar="FILE", help="the suite file to append the cases to")
    feedback.set_defaults(handler=_cmd_import)


def _cmd_import(args: argparse.Namespace) -> int:
    source, target = Path(args.feedback), Path(args.into)
    try:
        for path in (source, target):
            if not path.is_file():
                raise EditError(f"no such file: {path}")
        text, doc = load_round_trip(target)
        read = _Read()
        cases, problems = _read_rows(source, existing_ids(doc), sys.stderr, read)
        if problems:
            for problem in problems:
                print(problem, file=sys.stderr)
            print(f"{len(problems)} bad row(s); nothing written to {target}", file=sys.stderr)
            _keep_summary(source, target, read, kept=0)
            return 1
        if not cases:
            print(f"no rows in {source}; nothing written")
            return 0
        write_validated(target, appended_text(text, doc, cases))
        _keep_summary(source, target, read, kept=len(cases))
    except (EditError, OSError) as exc:
        print(f"promptcheck import-feedback: {exc}", file=sys.stderr)
        return 1
    print(f"added {len(cases)} case(s) to {target}")
    return 0


@dataclass
class _Read:
    """Every row read, for the feedback summary: the parsed objects and why rows were left out."""

    lines: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def _keep_summary(source: Path, target: Path, read: _Read, *, kept: int) -> None:
    """The summary of all rows read, in the project's ``.promptcheck/feedback/`` (representativeness reads it)."""
    from .feedback_counts import write_summary

    summary = write_summary(source, target, read.lines, read.rows, dict(read.skipped), kept=kept)
    if summary is not None:
        print(f"feedback summary: {summary} ({read.lines} rows read, {kept} kept)")


def _read_rows(
    source: Path, taken: set[str], progress: TextIO, read: _Read | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    read = read if read is not None else _Read()
    cases: list[dict[str, Any]] = []
    problems: list[str] = []
    seen = dict.fromkeys(taken, 0)  # id -> row that took it (0: already in the suite)
    tty = progress.isatty()
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if tty and number % _PROGRESS_EVERY == 0:
                print(f"\rchecked {number} rows", end="", file=progress, flush=True)
            if not line.strip():
                continue
            read.lines += 1
            try:
                parsed = json.loads(line)
                read.rows.extend([parsed] if isinstance(parsed, dict) else [])
            except ValueError:
                pass  # _row says why
            try:
                case = _case(_row(line))
            except ValueError as exc:
                problems.append(f"{source}:{number}: {exc}")
                read.skipped[_why(str(exc))] += 1
                continue
            first = seen.setdefault(case["id"], number)
            if first != number:
                where = "is already a case in the suite" if first == 0 else f"is also row {first}'s id"
                problems.append(f"{source}:{number}: id {case['id']!r} {where}; give the row its own `id`")
                read.skipped["duplicate id"] += 1
                continue
            cases.append(case)
    if tty:
        print("\r" + " " * 30 + "\r", end="", file=progress, flush=True)
    return cases, problems


def _why(message: str) -> str:
    """A bad row's problem without its values (``unknown field(s) ['x']; ...`` -> ``unknown field``), for counting."""
    return re.split(r"[(;:\[]", message, maxsplit=1)[0].strip().strip("`") or message


def _row(line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(row, dict):
        raise ValueError(f"a row is a JSON object, got {type(row).__name__}")
    unknown = set(row) - _ROW_KEYS
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}; valid: {', '.join(sorted(_ROW_KEYS))}")
    if not isinstance(row.get("vars"), dict) or not row["vars"]:
        raise ValueError("`vars` must be a non-empty object of template variables")
    if not isinstance(row.get("output"), str):
        raise ValueError("`output` (the bad output, a string) is required")
    _check_optional(row)
    return row


def _check_optional(row: dict[str, Any]) -> None:
    if "correction" in row and row["correction"] is not None and not isinstance(row["correction"], str):
        raise ValueError("`correction` must be a string")
    tags = row.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and _ID.match(t) for t in tags):
        raise ValueError("`tags` must be a list of words (letters, digits, _ - .)")
    rating = row.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, (int, float, str))):
        raise ValueError("`rating` must be a number or a string")
    if "id" in row and not (isinstance(row["id"], str) and _ID.match(row["id"])):
        raise ValueError(f"`id` must be a word without spaces, got {row['id']!r}")


def feedback_id(variables: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(variables, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"fb-{digest[:8]}"


def _case(row: dict[str, Any]) -> dict[str, Any]:
    case: dict[str, Any] = {"id": row.get("id") or feedback_id(row["vars"])}
    tags = list(row.get("tags", []))
    if row.get("rating") is not None:
        case["description"] = (
            f"feedback (rating {row['rating']}); bad output: {clip(' '.join(str(row['output']).split()), 80)}"
        )
    if tags:
        case["tags"] = tags
    case["vars"] = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in row["vars"].items()}
    correction = row.get("correction")
    if correction:
        case["ideal"] = correction
        case["assert"] = [{"fuzzy": {"value": correction, "min": FUZZY_MIN}}]
    else:
        case["assert"] = [{"not_equals": row["output"]}]
    return case
