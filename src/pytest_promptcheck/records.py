"""Run records (SPEC §12): what ran, on what, and what came back, for every run with prompt items.

``<runs>/<UTC time>-<short id>/`` (e.g. ``20261128T082307.123Z-cc1b56``) (``runs`` from the config, default ``.promptcheck/runs``):

- ``manifest.json`` — plugin, Python and pytest versions; git commit and dirty flag; the command
  line; every configured model with provider, params, what is served and, for the models used,
  the content hash of local checkpoint/adapter folders or of a ``python`` function; suite file
  hashes; the seed; baseline/candidate; the cache/record/replay mode. Written when the first
  result arrives (``status: running``) and rewritten at the end with counts and ``status:
  complete`` (``interrupted`` when pytest was interrupted).
- ``results.jsonl`` — one line per model call: the item's fields (item, suite, case, variant,
  model, provider, served, side, tags, ideal, outcome, error) and the call's (sample, binding,
  messages, params, seed, output, finish_reason, usage, latency_ms, cost, cached, passed, score,
  assertions with their reasons). Each line goes out in a single write as its report arrives, so
  a killed run keeps every line written before, each one whole.

Written by the controller (or the only process) from the reports, so pytest-xdist gives one
record. The folder appears with the first prompt result: a session without suites writes nothing.
Every string goes through the project's :class:`~.redact.Redactor` first.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import subprocess
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from . import __version__
from .cache import ResponseCache, cache_path, content_hash, function_identity, local_folders
from .config import ModelConfig
from .redact import redactor_for
from .results import record_of
from .session import PromptSession

MANIFEST = "manifest.json"
RESULTS = "results.jsonl"
RECORD_VERSION = 1


class RunRecorder:
    """Writes the run record from reports; registered on the controller only."""

    def __init__(self, config: pytest.Config, state: PromptSession) -> None:
        self.config = config
        self.project = state.project
        self.redactor = redactor_for(state.project)
        self.started = datetime.now(timezone.utc)
        # Milliseconds too: folder names sort by time, so `latest` is right even for runs a second apart.
        self.run_id = f"{self.started:%Y%m%dT%H%M%S}.{self.started.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"
        self.folder: Path | None = None
        self.manifest: dict[str, Any] = {}
        self.counts: Counter[str] = Counter()
        self.suites: set[str] = set()
        self.models_used: set[str] = set()
        self._fd: int | None = None
        self._finished = False

    # -- hooks ---------------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = record_of(report)
        if record is None or self._finished:
            return
        if self.folder is None:
            self._start()
        self._write(record)

    def pytest_keyboard_interrupt(self) -> None:
        self.counts["interrupted"] = 1

    @pytest.hookimpl(trylast=True)  # after the gate has settled the exit status
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.finish(int(getattr(session, "exitstatus", exitstatus)))  # the gate may have changed it

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for line in self.summary_lines():
            terminalreporter.write_line(line)

    # -- writing ---------------------------------------------------------------------------------
    def _start(self) -> None:
        folder = self.project.root / self.project.runs / self.run_id
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._fd = os.open(folder / RESULTS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.manifest = self._manifest()
        self._save_manifest()

    def _write(self, record: dict[str, Any]) -> None:
        self.suites.add(record["suite"])
        self.models_used.add(record["model"])
        self.counts["items"] += 1
        self.counts[record["outcome"]] += 1
        item = {k: v for k, v in record.items() if k != "calls"}
        for index, call in enumerate(record["calls"]):
            line = {**item, "run": self.run_id, "index": index, **call}
            self.counts["calls"] += 1
            self.counts["answered"] += call.get("output") is not None
            self.counts["cached"] += bool(call.get("cached")) and call.get("output") is not None
            data = self.redactor.json_line(line)
            _write_all(self._fd, (data + "\n").encode("utf-8"))  # one write: a kill never leaves half a line

    def finish(self, exitstatus: int | None = None) -> None:
        """Complete the manifest and close results.jsonl (idempotent; the exporter may call it first)."""
        if self._finished or self.folder is None:
            return
        self._finished = True
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
        finished = datetime.now(timezone.utc)
        self.manifest.update(
            status="interrupted" if self.counts["interrupted"] else "complete",
            finished=finished.isoformat(timespec="seconds"),
            duration_s=round((finished - self.started).total_seconds(), 3),
            exitstatus=exitstatus,
            counts={
                k: self.counts[k]
                for k in ("items", "calls", "answered", "cached", "passed", "failed", "error", "skipped")
            },
            suites={rel: _file_sha256(self.config.rootpath / rel) for rel in sorted(self.suites)},
            models=self._models(hashes=True),
        )
        self._save_manifest()

    def _save_manifest(self) -> None:
        assert self.folder is not None
        tmp = self.folder / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(self.redactor.data(self.manifest), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.folder / MANIFEST)

    # -- content ---------------------------------------------------------------------------------
    def _manifest(self) -> dict[str, Any]:
        option, project = self.config.option, self.project
        return {
            "version": RECORD_VERSION,
            "run_id": self.run_id,
            "status": "running",
            "started": self.started.isoformat(timespec="seconds"),
            "plugin_version": __version__,
            "python": platform.python_version(),
            "pytest": pytest.__version__,
            "platform": platform.platform(terse=True),
            "git": git_state(self.config.rootpath),
            "command": self._command(),
            "rootdir": self.config.rootpath.as_posix(),
            "config_source": project.source,
            "seed": project.seed,
            "repeat": project.repeat,
            "timeout": project.cli_timeout or project.timeout,
            "baseline": project.baseline,
            "candidate": project.candidate,
            "mode": {
                "cache": self.cache_enabled(),
                "record": bool(option.pc_record),
                "replay": bool(option.pc_replay),
                "xdist_workers": getattr(option, "numprocesses", None),
            },
            "models": self._models(hashes=False),
            "suites": {},
        }

    def _command(self) -> list[str]:
        args = ["pytest", *self.config.invocation_params.args]  # how pytest was started (python -m, a script) varies
        return [self.redactor.text(str(a)) for a in args]

    def _models(self, *, hashes: bool) -> dict[str, Any]:
        cache = _open_quietly(cache_path(self.project.root, self.project.cache)) if hashes else None
        try:
            return {
                name: self._model(model, cache if hashes else None, hashes)
                for name, model in sorted(self.project.models.items())
            }
        finally:
            if cache is not None:
                cache.close()

    def _model(self, model: ModelConfig, cache: ResponseCache | None, hashes: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "provider": model.provider,
            "served": model.describe(),
            "model": model.model,
            "path": model.path,
            "adapter": model.adapter,
            "function": model.function,
            "base_url": _safe_url(model.base_url),
            "params": model.params,
            "price": model.price,
            "options": model.options,
            "source": model.source,
            "used": model.name in self.models_used,
        }
        if hashes and model.name in self.models_used:
            entry.update(_model_hashes(model, self.config.rootpath, cache))
        return entry

    def cache_enabled(self) -> bool:
        option = self.config.option
        enabled = cache_path(self.project.root, self.project.cache) is not None
        return enabled and not option.pc_no_cache and not option.pc_replay

    def summary_lines(self) -> list[str]:
        """The run-record lines of the terminal summary, e.g. ``promptcheck cache: 120/120 calls from cache (100%)``."""
        if self.folder is None:
            return []
        answered, cached = self.counts["answered"], self.counts["cached"]
        lines = []
        if self.config.option.pc_replay:
            lines.append(f"promptcheck replay: {cached}/{answered} calls answered from cassettes")
        elif self.cache_enabled():
            share = f"{cached / answered:.0%}" if answered else "-"
            lines.append(f"promptcheck cache: {cached}/{answered} calls from cache ({share})")
        lines.append(f"promptcheck run record: {_shown(self.folder, self.config)} ({self.counts['calls']} calls)")
        return lines


def _model_hashes(model: ModelConfig, rootdir: Path, cache: ResponseCache | None) -> dict[str, Any]:
    """Content hashes of what a model serves: local checkpoint and adapter folders, or a python function."""
    found: dict[str, Any] = {}
    for key, raw in (("checkpoint_sha256", model.path), ("adapter_sha256", model.adapter)):
        folders = local_folders(ModelConfig(name=model.name, provider=model.provider, path=raw)) if raw else []
        if folders:
            found[key] = content_hash(folders, cache)
    if model.provider == "python" and model.function:
        try:
            from .providers.python import import_function

            found["function_identity"] = function_identity(
                import_function(model.resolved("function") or "", rootdir, what=model.name)
            )
        except Exception:  # the run already reported an unusable function; the record just lacks the hash
            found["function_identity"] = None
    return found


def git_state(root: Path) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the repository holding ``root``; None outside git (or without git)."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def _write_all(fd: int | None, data: bytes) -> None:
    if fd is None:
        return
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _safe_url(url: str | None) -> str | None:
    """A base URL without user info or query (where credentials hide); ``${ENV}`` references stay as written."""
    if not url or "${" in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _open_quietly(path: Path | None) -> ResponseCache | None:
    if path is None or not path.exists():
        return None
    try:
        return ResponseCache.open(path)
    except Exception:  # only a memo of file hashes: without it they are computed again
        return None


def _shown(path: Path, config: pytest.Config) -> str:
    try:
        return path.relative_to(config.invocation_params.dir).as_posix()
    except ValueError:
        return path.as_posix()


# -- reading records back (the CLI, the exporter) -------------------------------------------------


def resolve_run(runs_dir: Path, ref: str) -> Path:
    """A run folder from a path, a run id prefix, or ``latest``; raises FileNotFoundError saying what exists."""
    as_path = Path(ref)
    if as_path.is_dir() and (as_path / MANIFEST).is_file():
        return as_path
    runs = sorted(p for p in runs_dir.glob("*") if (p / MANIFEST).is_file()) if runs_dir.is_dir() else []
    if ref == "latest" and runs:
        return runs[-1]
    matches = [p for p in runs if p.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.name for p in runs[-5:]) or "none"
    why = "is ambiguous" if matches else "matches no run record"
    raise FileNotFoundError(
        f"run {ref!r} {why} in {runs_dir} (latest runs: {known}); give a run folder, an id prefix or 'latest'"
    )


def read_results(path: Path) -> list[dict[str, Any]]:
    """The lines of a results.jsonl; a line cut short by a killed run is skipped."""
    lines = []
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, dict):
                lines.append(value)
    return lines


def read_manifest(folder: Path) -> dict[str, Any]:
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
