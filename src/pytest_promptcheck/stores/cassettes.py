"""Record and replay (SPEC §8): model answers kept next to the suite, for runs without network or keys.

``--pc-record`` writes ``<suite dir>/cassettes/<suite name>.cassette.jsonl``: one JSON object per
line, keys sorted, lines ordered by case, model and sample, so a re-recording diffs line by line::

    {"case": "refund", "finish_reason": "stop", "key": "9f2c...", "latency_ms": 412,
     "messages": [{"content": "...", "role": "user"}], "model": "gpt", "output": "...",
     "params": {"temperature": 0}, "sample": 0, "seed": 1234, "served": "openai:gpt-4o-mini",
     "served_model": "gpt-4o-mini-2024-07-18", "usage": {"input_tokens": 31, "output_tokens": 12}}

``key`` is the engine's call key (model, what is served, messages, params, seed, sample index)
computed before redaction, so a prompt whose stored text was scrubbed still matches. Nothing else
about the request is stored: no headers, no keys; ``redact`` patterns apply to every stored text.

How entries reach the file, with or without pytest-xdist: the engine logs every answered call in
a :class:`CallLog`; when an item's setup ends (its calls and its judges' calls are answered) the
entries ride on its setup report (``report.promptcheck_cassette``); the controller (or the only
process) gathers them and writes each cassette once at session end. Workers never write, so they
cannot corrupt a cassette. A re-recording replaces the entries of the (case, model) pairs that ran
and keeps the others (``-k`` records a part of a suite without losing the rest).

``--pc-replay`` answers every call from the cassettes of the collected suites (:class:`CassetteIndex`):
no provider is created, so nothing is sent and no key is needed. A missing entry is an item error
naming the case, the model and the closest recorded entry.
"""

from __future__ import annotations

import difflib
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..config_models import ModelConfig
from ..errors import ProviderError
from ..outputs.artifacts import write_lines_artifact
from ..outputs.redact import Redactor
from ..providers import tool_calls
from ..providers.base import Completion, ModelRequest, Usage
from ..providers.content import display_text, record_form

SUFFIX = ".cassette.jsonl"
REPORT_ATTR = "promptcheck_cassette"


def cassette_path(suite_path: Path, suite_name: str) -> Path:
    return suite_path.parent / "cassettes" / f"{suite_name}{SUFFIX}"


# -- recording ------------------------------------------------------------------------------------


class CallLog:
    """Every call the engine answered in this process, by call key (thread-safe: the loop thread adds)."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._entries: dict[str, dict[str, Any]] = {}
        self._unowned: list[str] = []  # calls made for no case (judges), claimed by the item being set up
        self._lock = threading.Lock()

    def add(self, key: str, model: ModelConfig, request: ModelRequest, completion: Completion) -> None:
        entry = {
            "key": key,
            "case": request.case_id,
            "model": model.name,
            "served": model.describe(),
            "sample": request.sample_index,
            "seed": request.seed,
            "params": self.redactor.data(request.params),
            "messages": self.redactor.data(list(record_form(request.messages))),  # images: hash and size
            "output": self.redactor.text(completion.output),
            "finish_reason": completion.finish_reason,
            "usage": {"input_tokens": completion.usage.input_tokens, "output_tokens": completion.usage.output_tokens},
            "latency_ms": round(completion.latency_ms) if completion.latency_ms is not None else None,
            "served_model": completion.served_model,
        }
        if request.tools:  # only then: cassettes of tool-less suites stay as they were
            entry["tools"] = self.redactor.data({"tools": list(request.tools), "tool_choice": request.tool_choice})
        if completion.tool_calls:
            entry["tool_calls"] = self.redactor.data([tool_calls.to_json(c) for c in completion.tool_calls])
        with self._lock:
            self._entries[key] = json.loads(json.dumps(entry, default=str))

    def note_unowned(self, key: str) -> None:
        with self._lock:
            self._unowned.append(key)

    def claim(self, keys: Iterable[str], case: str) -> list[dict[str, Any]]:
        """Entries of an item's own calls plus the case-less calls (judges) made since the last claim."""
        with self._lock:
            unowned, self._unowned = self._unowned, []
            found = [self._entries[k] for k in keys if k in self._entries]
            found += [{**self._entries[k], "case": case} for k in unowned if k in self._entries]
        return found


def write_cassette(path: Path, new: Iterable[dict[str, Any]], redactor: Redactor | None = None) -> int:
    """Merge ``new`` entries into the cassette at ``path`` (atomically); returns the entries written.

    Old entries of a (case, model) pair that was recorded now are dropped, so a changed prompt
    leaves no stale entry behind; pairs not run this time keep theirs.
    """
    fresh = list(new)
    ran = {(e["case"], e["model"]) for e in fresh}
    kept = [e for e in read_cassette(path) if (e.get("case"), e.get("model")) not in ran]
    merged = {e["key"]: e for e in [*kept, *fresh]}
    entries = sorted(merged.values(), key=_line_order)
    write_lines_artifact(path, entries, redactor or Redactor(), atomic=True, sort_keys=True)
    return len(entries)


def _line_order(entry: dict[str, Any]) -> tuple[Any, ...]:
    prompt = json.dumps(entry.get("messages"), sort_keys=True)
    return (str(entry.get("case")), str(entry.get("model")), entry.get("sample") or 0, prompt, entry["key"])


def read_cassette(path: Path) -> list[dict[str, Any]]:
    """The entries of a cassette (none when it does not exist); a broken line is skipped, not fatal."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            entries.append(entry)
    return entries


# -- replaying ------------------------------------------------------------------------------------


class ReplayMissError(ProviderError):
    """No recorded answer for a call in ``--pc-replay`` mode."""


class CassetteIndex:
    """The recorded answers of the collected suites' cassettes, by call key."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.files: list[Path] = []

    @classmethod
    def load(cls, paths: Iterable[Path]) -> CassetteIndex:
        index = cls()
        for path in dict.fromkeys(paths):  # each file once, in order
            index.files.append(path)
            for entry in read_cassette(path):
                index.entries[entry["key"]] = entry
        return index

    def answer(self, model: ModelConfig, request: ModelRequest, key: str) -> Completion:
        entry = self.entries.get(key)
        if entry is None:
            raise ReplayMissError("replay", model.name, self._miss(model, request, key), retryable=False)
        usage = entry.get("usage") or {}
        return Completion(
            output=entry.get("output") or "",
            finish_reason=entry.get("finish_reason"),
            usage=Usage(usage.get("input_tokens"), usage.get("output_tokens")),
            latency_ms=entry.get("latency_ms"),
            served_model=entry.get("served_model"),
            tool_calls=tool_calls.loads(entry.get("tool_calls")),
            cached=True,  # a stored answer, not a live call
        )

    def _miss(self, model: ModelConfig, request: ModelRequest, key: str) -> str:
        case = f"case {request.case_id!r}" if request.case_id else "a judge call"
        where = ", ".join(_relative(p) for p in self.files if p.exists()) or "no cassette file (none was recorded)"
        lines = [
            f"no recorded answer for {case} (sample {request.sample_index}) on model {model.name!r} in {where} "
            f"(key {key[:12]})"
        ]
        closest = closest_entry(self.entries.values(), model, request)
        if closest is None:
            lines.append("  nothing is recorded for this model")
        else:
            lines.append(
                f"  closest recorded entry: case {closest.get('case')!r}, model {closest.get('model')!r}, "
                f"sample {closest.get('sample')}; {'; '.join(differences(closest, model, request))}"
            )
        lines.append("  record it with --pc-record (this needs the model, and its key, once)")
        return "\n".join(lines)


def closest_entry(
    entries: Iterable[dict[str, Any]], model: ModelConfig, request: ModelRequest
) -> dict[str, Any] | None:
    """The recorded entry most like the request: same model first, then same case, then prompt similarity."""
    pool = list(entries)
    for narrower in (lambda e: e.get("model") == model.name, lambda e: e.get("case") == request.case_id):
        subset = [e for e in pool if narrower(e)]
        pool = subset or pool
    if not pool:
        return None
    wanted = _prompt_text(request.messages)
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(wanted)

    def score(entry: dict[str, Any]) -> tuple[float, float]:
        matcher.set_seq1(_prompt_text(entry.get("messages") or []))
        same_sample = 1.0 if entry.get("sample") == request.sample_index else 0.0
        return (matcher.ratio(), same_sample)

    return max(pool, key=score)


def differences(entry: dict[str, Any], model: ModelConfig, request: ModelRequest) -> list[str]:
    """What differs between a recorded entry and a request, in words."""
    found = []
    if entry.get("served") != model.describe():
        found.append(f"served {entry.get('served')!r} now {model.describe()!r}")
    recorded, wanted = _prompt_text(entry.get("messages") or []), _prompt_text(request.messages)
    if recorded != wanted:
        diff = difflib.unified_diff(recorded.splitlines(), wanted.splitlines(), "recorded", "now", n=0, lineterm="")
        found.append("the prompt differs:\n" + "\n".join(f"    {line}" for line in list(diff)[2:12]))
    if entry.get("params") != json.loads(json.dumps(request.params, default=str)):
        found.append(f"params {entry.get('params')!r} now {request.params!r}")
    if request.tools or entry.get("tools"):
        wanted_tools = {"tools": list(request.tools), "tool_choice": request.tool_choice} if request.tools else None
        if entry.get("tools") != json.loads(json.dumps(wanted_tools, default=str)):
            found.append("the tools or tool_choice differ")
    if entry.get("seed") != request.seed or entry.get("sample") != request.sample_index:
        found.append(f"seed/sample {entry.get('seed')}/{entry.get('sample')} now {request.seed}/{request.sample_index}")
    return found or ["it differs only in text scrubbed by `redact`"]


def _prompt_text(messages: Iterable[Any]) -> str:
    return "\n".join(f"{m.get('role')}: {display_text(m.get('content'))}" for m in messages if isinstance(m, dict))


def _relative(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()
