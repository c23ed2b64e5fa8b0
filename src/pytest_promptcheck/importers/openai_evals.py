"""OpenAI Evals samples (JSONL: ``input`` chat messages + ``ideal``) → a suite over ``cases_from`` rows.

Each sample becomes a row with its own ``messages`` (sent as they are, no prompt variants) and the
eval class's match rule as the assertion, as in openai/evals ``evals/elsuite/basic``:

- ``match``: the output starts with one of the ideals (``Match``);
- ``includes``: the output contains one of the ideals (``Includes``, case-sensitive by default);
- ``fuzzy``: one of output / ideal contains the other after normalising (``FuzzyMatch``);
  approximated by a ``fuzzy`` partial ratio of 1.0 (rapidfuzz, no punctuation/article stripping),
  against the first ideal only (one ``fuzzy`` has one value).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .result import Imported

EVALS = ("match", "includes", "fuzzy")
_ROLES = ("system", "user", "assistant")


class SampleProblem(ValueError):
    """A sample that cannot be imported; the message starts with file:line."""


def import_openai_evals(samples: Path, rows_name: str, eval_class: str = "match") -> Imported:
    """The suite (``cases_from: rows_name``) and the rows file (in ``files``) for ``samples``."""
    out = Imported()
    rows, problems = [], []
    for number, raw in enumerate(samples.read_text(encoding="utf-8-sig").split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            rows.append(_row(json.loads(raw), number, eval_class))
        except (ValueError, SampleProblem) as exc:
            problems.append(f"{samples.name}:{number}: {exc}")
    if problems:
        raise SampleProblem("\n".join(problems))
    out.counts["mapped" if eval_class != "fuzzy" else "approximated"] += len(rows)
    if eval_class == "fuzzy":
        out.note("FuzzyMatch: a fuzzy partial ratio of 1.0 against the first ideal (no punctuation/article stripping)")
    out.files[rows_name] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    out.suite = {
        "description": f"OpenAI Evals samples from {samples.name} ({eval_class})",
        "cases_from": rows_name,
    }
    return out


def _row(sample: Any, number: int, eval_class: str) -> dict[str, Any]:
    if not isinstance(sample, dict):
        raise SampleProblem('a sample is a JSON object {"input": [...], "ideal": ...}')
    messages = sample.get("input")
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    if not isinstance(messages, list) or not messages or not all(_message(m) for m in messages):
        raise SampleProblem("`input` must be a list of {role: system|user|assistant, content: text} messages")
    ideal = sample.get("ideal")
    ideals = [ideal] if isinstance(ideal, str) else ideal
    if not isinstance(ideals, list) or not ideals or not all(isinstance(i, str) for i in ideals):
        raise SampleProblem("`ideal` must be a text or a list of texts")
    row: dict[str, Any] = {"id": f"sample-{number}", "messages": [_plain(m) for m in messages], "ideal": ideals[0]}
    row["assert"] = [_rule(eval_class, ideals)]
    return row


def _message(message: Any) -> bool:
    return isinstance(message, dict) and message.get("role") in _ROLES and isinstance(message.get("content"), str)


def _plain(message: dict[str, Any]) -> dict[str, str]:
    return {"role": message["role"], "content": message["content"]}


def _rule(eval_class: str, ideals: list[str]) -> dict[str, Any]:
    if eval_class == "match":
        if len(ideals) == 1:
            return {"starts_with": ideals[0]}
        return {"regex": r"^\s*(?:" + "|".join(re.escape(i) for i in ideals) + ")"}
    if eval_class == "includes":
        return {"contains": ideals[0]} if len(ideals) == 1 else {"contains_any": ideals}
    return {"fuzzy": {"value": ideals[0], "min": 1.0, "method": "partial_ratio"}}
