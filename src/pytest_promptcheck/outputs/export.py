"""Export (SPEC §10): failing calls of a run become fine-tuning data, with the case's ``ideal`` as target.

Formats (rules in notes/finetune-formats.md; one JSON object per line, UTF-8, no BOM)::

    openai-chat     {"messages": [system?, user, ..., {"role": "assistant", "content": ideal}]}
    openai-dpo      {"input": {"messages": [...]}, "preferred_output": [{"role": "assistant", "content": ideal}],
                     "non_preferred_output": [{"role": "assistant", "content": output}]}
    bedrock-claude  {"system": "...", "messages": [user, assistant, ..., {"role": "assistant", "content": ideal}]}
    trl-sft         {"prompt": [...], "completion": [{"role": "assistant", "content": ideal}]}
    trl-dpo         {"prompt": [...], "chosen": [{"role": "assistant", ...ideal}], "rejected": [{... output}]}

Rows: one per failing call of the chosen side with a distinct rendered prompt. Among the calls
that failed on one prompt the row takes the candidate's call first, then the baseline's, then
other models by name, and of a case's repeats the first failing sample. A prompt that ends with an
assistant turn, or a row its format's rules reject (an empty message, an ``ideal`` equal to the
output in a preference format), is skipped and counted. Bedrock wants strictly alternating turns:
system messages join into ``system`` and consecutive turns of one role merge (blank-line separated).

Files (``<stem>`` is PATH without ``.jsonl``): PATH; ``<stem>.needs-label.jsonl`` (failures
without an ``ideal``, with the model output, for a person to write the target);
``<stem>.val.jsonl`` with a split (whole cases go to one side, chosen by ``seed``);
``<stem>.manifest.json`` (run id, ``lineage_id``, sha256 of each file, suite hashes, side, counts,
warnings; a checkpoint trained on the export names it by ``lineage_id``). Provider minimums are
warnings, never errors.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..runs.lineage import export_lineage_id, export_manifest_path, file_sha256
from ..runs.record import CallRecord, ItemRecord
from .artifacts import write_json_artifact, write_lines_artifact
from .export_tools import build_tool_row, first_failing_turns, needs_tool_row, weighted
from .redact import Redactor

FORMATS = ("openai-chat", "openai-dpo", "bedrock-claude", "trl-sft", "trl-dpo")
PREFERENCE = frozenset({"openai-dpo", "trl-dpo"})
SIDES = ("candidate", "baseline", "all")
_SIDE_ORDER = {"candidate": 0, "baseline": 1}
_OPENAI_MINIMUM = 10  # examples per training file (OpenAI fine-tuning guide)
_BEDROCK_MAXIMUM = {"train": 10_000, "validation": 1_000}  # records per file (AWS Claude 3 Haiku sample)


@dataclass(frozen=True)
class ExportOptions:
    format: str = "openai-chat"
    side: str | None = None  # None: the candidate when the run has one, else all
    split: float | None = None  # train share; the rest goes to <stem>.val.jsonl


@dataclass
class ExportResult:
    path: Path
    side: str
    train: int = 0
    validation: int = 0
    needs_label: int = 0
    failing: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def lines(self, shown: str) -> list[str]:
        """The export lines of the terminal summary / CLI output."""
        head = f"promptcheck export: {self.train} rows -> {shown}"
        extra = [f"{self.validation} validation rows"] if self.validation else []
        extra += [f"{self.needs_label} need a label"] if self.needs_label else []
        extra += [f"{n} skipped ({why})" for why, n in sorted(self.skipped.items())]
        rows = [
            head
            + (f" ({', '.join(extra)})" if extra else "")
            + f" from {self.failing} failing calls (side: {self.side})"
        ]
        return rows + [f"promptcheck export warning: {w}" for w in self.warnings]


_Failing = tuple[ItemRecord, CallRecord]  # a failing call with the item it belongs to


def export_calls(
    records: Iterable[ItemRecord],
    manifest: dict[str, Any],
    out: Path,
    options: ExportOptions,
    redactor: Redactor | None = None,
) -> ExportResult:
    """Write the export files for the calls of one run (its item records and its manifest), scrubbed."""
    redactor = redactor or Redactor()
    if options.format not in FORMATS:
        raise ValueError(f"unknown export format {options.format!r}; choose one of {', '.join(FORMATS)}")
    if options.split is not None and not 0 < options.split <= 1:
        raise ValueError(f"the export split is the train share, between 0 and 1 (got {options.split})")
    side = options.side or ("candidate" if manifest.get("candidate") else "all")
    result = ExportResult(out, side)
    chosen = _choose(records, side, result)
    rows: list[tuple[ItemRecord, dict[str, Any]]] = []  # (the item, its row)
    labels: list[dict[str, Any]] = []
    for record, call in chosen:
        if record.ideal is None and record.ideal_tool_call is None:
            labels.append(_needs_label(record, call))
            continue
        messages = list(call.messages)
        if needs_tool_row(messages, record.tools, record.ideal_tool_call):  # tools, or a conversation with them
            row, why = build_tool_row(options.format, messages, record.ideal, record.ideal_tool_call, record.tools)
        else:
            row, why = build_row(options.format, messages, record.ideal or "", call.output)
        if row is None:
            result.skipped[why] = result.skipped.get(why, 0) + 1
        else:
            rows.append((record, row))
    train, validation = _split(rows, options.split, int(manifest.get("seed") or 0))
    stem = out.with_suffix("") if out.suffix == ".jsonl" else out
    result.files.append(write_lines_artifact(out, train, redactor))
    if options.split is not None and options.split < 1:
        result.files.append(write_lines_artifact(Path(f"{stem}.val.jsonl"), validation, redactor))
    if labels:
        result.files.append(write_lines_artifact(Path(f"{stem}.needs-label.jsonl"), labels, redactor))
    result.train, result.validation, result.needs_label = len(train), len(validation), len(labels)
    result.warnings += _warnings(options.format, result, manifest)
    result.files.append(_write_manifest(export_manifest_path(out), result, manifest, options, redactor))
    return result


def _choose(records: Iterable[ItemRecord], side: str, result: ExportResult) -> list[_Failing]:
    """One failing call per distinct rendered prompt, preferring the candidate, then the first failing sample."""
    failing = [(r, c) for r in records if side == "all" or r.side == side for c in r.calls if c.passed is False]
    failing = first_failing_turns(failing)  # a conversation's target is its first failing turn's answer
    result.failing = len(failing)
    # Deterministic whatever order the reports came in (xdist): side, model, sample, then the case.
    failing.sort(key=lambda rc: (_SIDE_ORDER.get(rc[0].side or "", 2), rc[0].model, rc[1].sample, _order(rc)))
    by_prompt: dict[str, _Failing] = {}
    for record, call in failing:
        by_prompt.setdefault(json.dumps(list(call.messages), sort_keys=True), (record, call))
    return sorted(by_prompt.values(), key=_order)


def _order(failing: _Failing) -> tuple[str, ...]:
    record, call = failing
    return (record.suite, record.case, record.variant, str(call.binding), record.model)


# -- formats ----------------------------------------------------------------------------------------


def build_row(
    fmt: str, messages: list[dict[str, Any]], ideal: str, output: str | None
) -> tuple[dict[str, Any] | None, str]:
    """The row of one failing call in format ``fmt``, or (None, why it cannot be one)."""
    prompt = [{"role": str(m.get("role")), "content": str(m.get("content"))} for m in messages]
    if not prompt or prompt[-1]["role"] == "assistant":
        return None, "prompt ends with an assistant turn"
    if any(not m["content"] for m in prompt) or not ideal:
        return None, "empty message"
    target = [{"role": "assistant", "content": ideal}]
    rejected = [{"role": "assistant", "content": output or ""}]
    if fmt in PREFERENCE and (not output or output == ideal):
        return None, "no distinct rejected output"
    if fmt == "openai-chat":  # few-shot assistant turns of the prompt are not trained on
        return {"messages": weighted(prompt) + target}, ""
    if fmt == "openai-dpo":
        return {"input": {"messages": prompt}, "preferred_output": target, "non_preferred_output": rejected}, ""
    if fmt == "trl-sft":
        return {"prompt": prompt, "completion": target}, ""
    if fmt == "trl-dpo":
        return {"prompt": prompt, "chosen": target, "rejected": rejected}, ""
    return _bedrock(prompt, ideal)


def _bedrock(prompt: list[dict[str, str]], ideal: str) -> tuple[dict[str, Any] | None, str]:
    system = "\n\n".join(m["content"] for m in prompt if m["role"] == "system")
    turns: list[dict[str, str]] = []
    for message in prompt:
        if message["role"] not in ("user", "assistant"):
            continue
        if turns and turns[-1]["role"] == message["role"]:
            turns[-1] = {"role": message["role"], "content": turns[-1]["content"] + "\n\n" + message["content"]}
        else:
            turns.append(dict(message))
    if not turns or turns[0]["role"] != "user":
        return None, "bedrock needs the first turn to be the user's"
    row: dict[str, Any] = {"system": system} if system else {}
    row["messages"] = [*turns, {"role": "assistant", "content": ideal}]
    return row, ""


def _needs_label(record: ItemRecord, call: CallRecord) -> dict[str, Any]:
    return {
        "suite": record.suite, "case": record.case, "variant": record.variant, "binding": call.binding,
        "model": record.model, "side": record.side, "sample": call.sample, "item": record.item,
        "messages": list(call.messages), "output": call.output,
        "failed": [a.reason for a in call.assertions if not a.passed],
        "ideal": None,  # to be written by a person, then copied into the case
    }  # fmt: skip


# -- files ----------------------------------------------------------------------------------------


def _split(
    rows: list[tuple[ItemRecord, dict[str, Any]]], share: float | None, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, validation): whole cases go to validation (no case on both sides), drawn with ``seed``."""
    if share is None or share >= 1 or not rows:
        return [row for _, row in rows], []
    cases = sorted({(r.suite, r.case) for r, _ in rows})
    random.Random(seed).shuffle(cases)
    wanted = len(rows) - round(len(rows) * share)
    held: set[tuple[str, str]] = set()
    counts = {case: sum(1 for r, _ in rows if (r.suite, r.case) == case) for case in cases}
    taken = 0
    for case in cases:
        if taken >= wanted or len(held) == len(cases) - 1:  # the training file keeps at least one case
            break
        held.add(case)
        taken += counts[case]
    train = [row for r, row in rows if (r.suite, r.case) not in held]
    validation = [row for r, row in rows if (r.suite, r.case) in held]
    return train, validation


def _warnings(fmt: str, result: ExportResult, manifest: dict[str, Any]) -> list[str]:
    found = []
    if result.side == "candidate" and not manifest.get("candidate"):
        found.append("the run has no candidate model; export another side with --pc-export-side all")
    if result.train == 0:
        found.append(
            "no failing call with an `ideal` to train on"
            + (" (see the needs-label file)" if result.needs_label else "")
        )
    elif fmt.startswith("openai") and result.train < _OPENAI_MINIMUM:
        found.append(f"OpenAI fine-tuning needs at least {_OPENAI_MINIMUM} examples; the file has {result.train}")
    if fmt == "bedrock-claude":
        for part, count in (("train", result.train), ("validation", result.validation)):
            if count > _BEDROCK_MAXIMUM[part]:
                found.append(f"Bedrock takes at most {_BEDROCK_MAXIMUM[part]:,} {part} records; the file has {count:,}")
    return found


def _write_manifest(
    path: Path, result: ExportResult, manifest: dict[str, Any], options: ExportOptions, redactor: Redactor
) -> Path:
    digests = {p.name: file_sha256(p) for p in result.files}
    data = {
        "run_id": manifest.get("run_id"),
        # What a checkpoint's promptcheck-lineage.json repeats to name this export (runs/lineage.py).
        "lineage_id": export_lineage_id(manifest.get("run_id"), digests.get(result.path.name) or ""),
        "sha256": digests,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "format": options.format,
        "side": result.side,
        "split": options.split,
        "seed": manifest.get("seed"),
        "suites": manifest.get("suites", {}),
        "counts": {
            "failing_calls": result.failing, "train": result.train, "validation": result.validation,
            "needs_label": result.needs_label, "skipped": result.skipped,
        },
        "files": [p.name for p in result.files],
        "warnings": result.warnings,
    }  # fmt: skip
    return write_json_artifact(path, data, redactor, sort_keys=True)
