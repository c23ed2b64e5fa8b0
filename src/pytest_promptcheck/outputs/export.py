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
What a row holds beyond that (another target, other variants, rehearsal rows of passing cases, a
cap per weakness, the split) follows the export choices (:mod:`.export_choices`); which rows, and which
file each goes to, is :mod:`..runs.export_selection`, which the data plan counts with.

Files (``<stem>`` is PATH without ``.jsonl``): PATH; ``<stem>.needs-label.jsonl`` (failures
without an ``ideal``, with the model output, for a person to write the target);
``<stem>.val.jsonl`` with a split (whole cases go to one side, chosen by ``seed``);
``<stem>.manifest.json`` (run id, ``lineage_id``, sha256 of each file, suite hashes, side, counts,
warnings; a checkpoint trained on the export names it by ``lineage_id``). Provider minimums are
warnings, never errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..runs.export_selection import SOURCES, Source, has_target, select
from ..runs.lineage import export_lineage_id, export_manifest_path, file_sha256
from ..runs.record import CallRecord, ItemRecord
from .artifacts import write_json_artifact, write_lines_artifact
from .export_choices import ExportChoices
from .export_images import IMAGE_FORMATS, has_image_stubs, with_image_data
from .export_tools import build_tool_row, needs_tool_row, weighted
from .redact import Redactor

FORMATS = ("openai-chat", "openai-dpo", "bedrock-claude", "trl-sft", "trl-dpo")
PREFERENCE = frozenset({"openai-dpo", "trl-dpo"})
SIDES = ("candidate", "baseline", "all")
_OPENAI_MINIMUM = 10  # examples per training file (OpenAI fine-tuning guide)
_BEDROCK_MAXIMUM = {"train": 10_000, "validation": 1_000}  # records per file (AWS Claude 3 Haiku sample)


@dataclass(frozen=True)
class ExportOptions:
    format: str = "openai-chat"
    side: str | None = None  # None: the candidate when the run has one, else all
    split: float | None = None  # train share; the rest goes to <stem>.val.jsonl
    choices: ExportChoices = field(
        default_factory=ExportChoices
    )  # what each row contains (target, variants, rehearsal, balance)
    seed: int | None = None  # None: the run's seed


@dataclass
class ExportResult:
    path: Path
    side: str
    train: int = 0
    validation: int = 0
    needs_label: int = 0
    failing: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)  # rows written per source (export_rows.SOURCES)
    no_target: dict[str, int] = field(default_factory=dict)  # variant-added prompts with no target
    tags: dict[str, dict[str, int]] = field(default_factory=dict)  # weakness -> rows before/after balance
    rehearsal_pool: int = 0  # rows of passing cases the rehearsal could draw from
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
        if set(self.sources) - {"failing"}:
            rows.append("promptcheck export rows: " + ", ".join(f"{self.sources.get(k, 0)} {k}" for k in SOURCES))
        return rows + [f"promptcheck export warning: {w}" for w in self.warnings]


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
    seed = options.seed if options.seed is not None else int(manifest.get("seed") or 0)
    records = list(records)
    result = ExportResult(out, side)
    labels: list[dict[str, Any]] = []

    def build(source: Source) -> dict[str, Any] | None:
        """The source's row in the format, or None after counting why there is none."""
        row, why = source_row(source, options.format, manifest)
        if row is None and why == NO_TARGET:
            if source.kind == "failing":
                labels.append(_needs_label(source.record, source.call))
            elif source.kind == "variant-added":
                result.no_target[source.kind] = result.no_target.get(source.kind, 0) + 1
        elif row is None:
            result.skipped[why] = result.skipped.get(why, 0) + 1
        return row

    chosen = select(records, side, options.choices, split=options.split, seed=seed, build=build)
    result.failing, result.tags, result.sources = chosen.failing, chosen.tags, chosen.counts()
    if chosen.rehearsal_wanted > chosen.rehearsal_pool:
        result.warnings.append(
            f"rehearsal {options.choices.rehearsal:g} wants {chosen.rehearsal_wanted} rows from passing cases; the run "
            f"has {chosen.rehearsal_pool} (add passing cases with an `ideal`, or use target = ideal-or-passing)"
        )
    result.rehearsal_pool = chosen.rehearsal_pool
    train_rows, validation_rows = chosen.train, chosen.validation
    train, validation = [row for _, row in train_rows], [row for _, row in validation_rows]
    stem = out.with_suffix("") if out.suffix == ".jsonl" else out
    result.files.append(write_lines_artifact(out, train, redactor))
    if options.split is not None and options.split < 1:
        result.files.append(write_lines_artifact(Path(f"{stem}.val.jsonl"), validation, redactor))
    if labels:
        result.files.append(write_lines_artifact(Path(f"{stem}.needs-label.jsonl"), labels, redactor))
    result.train, result.validation, result.needs_label = len(train), len(validation), len(labels)
    result.warnings += _warnings(options.format, result, manifest)
    result.files.append(_write_manifest(export_manifest_path(out), result, manifest, options, seed, redactor))
    return result


NO_TARGET = "no target"


def source_row(source: Source, fmt: str, manifest: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The row of one source in ``fmt``, or (None, why not: ``NO_TARGET``, or the format's rule it breaks)."""
    record, call = source.record, source.call
    tool_target = record.ideal_tool_call if source.kind == "failing" else None
    if not has_target(source):
        return None, NO_TARGET
    if fmt in PREFERENCE and source.kind != "failing":
        return None, "a preference row needs a failing output to reject"
    messages, why = _messages(list(call.messages), fmt, manifest, record.suite)
    if messages and needs_tool_row(messages, record.tools, tool_target):  # tools, or a conversation with them
        return build_tool_row(fmt, messages, source.target, tool_target, record.tools)
    if messages:
        return build_row(fmt, messages, source.target or "", call.output)
    return None, why


def plan_rows(fmt: str, rootdir: Path) -> Callable[[Source], object | None]:
    """The data plan's row builder for ``fmt`` (:func:`..runs.data_plan.plan`): the export's rows, so its
    rules (preference rows, images, prompts that end with an assistant turn) count in the plan too."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    manifest = {"rootdir": rootdir.as_posix()}
    return lambda source: source_row(source, fmt, manifest)[0]


# -- formats ----------------------------------------------------------------------------------------


def build_row(
    fmt: str, messages: list[dict[str, Any]], ideal: str, output: str | None
) -> tuple[dict[str, Any] | None, str]:
    """The row of one failing call in format ``fmt``, or (None, why it cannot be one)."""
    prompt = [{"role": str(m.get("role")), "content": _content(m.get("content"))} for m in messages]
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


def _content(content: Any) -> Any:
    return content if isinstance(content, list) else str(content)  # a list: image parts (export_images)


def _messages(
    messages: list[dict[str, Any]], fmt: str, manifest: dict[str, Any], suite: str
) -> tuple[list[dict[str, Any]] | None, str]:
    """The call's messages, images read back into data URLs (formats that take them), or why not."""
    if not has_image_stubs(messages):
        return messages, ""
    if fmt not in IMAGE_FORMATS:
        return None, f"images ({fmt} rows are text only; use openai-chat)"
    return with_image_data(messages, Path(str(manifest.get("rootdir") or ".")), suite)


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
    path: Path, result: ExportResult, manifest: dict[str, Any], options: ExportOptions, seed: int, redactor: Redactor
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
        "seed": seed,
        # What each row contains, and how many rows each choice gave (runs/export_selection.py).
        "choices": {**options.choices.as_json(), "split_by": "case"},
        "rows": {
            "sources": {k.replace("-", "_"): result.sources.get(k, 0) for k in SOURCES},
            "no_target": {"failing": result.needs_label, "variant_added": result.no_target.get("variant-added", 0)},
            "rehearsal_pool": result.rehearsal_pool,
            "tags": result.tags,
        },
        "suites": manifest.get("suites", {}),
        "counts": {
            "failing_calls": result.failing, "train": result.train, "validation": result.validation,
            "needs_label": result.needs_label, "skipped": result.skipped,
        },
        "files": [p.name for p in result.files],
        "warnings": result.warnings,
    }  # fmt: skip
    return write_json_artifact(path, data, redactor, sort_keys=True)
