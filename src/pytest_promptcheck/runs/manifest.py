"""The run manifest: what ran, on what, so a run can be reproduced and compared later.

Plugin, Python and pytest versions, and those of the model libraries (``libraries``, from package
metadata); git commit and dirty flag (tracked changes anywhere, or untracked files under the suites'
folders); the command line; every configured model with provider, params, what is served (local
paths relative to the rootdir when under it, so a moved project reads the same) and, for the models
used, the content hash of local checkpoint/adapter folders or of a ``python`` function, what those
folders carry about their training (``training``: :mod:`.checkpoint`) and, for transformers models,
device, dtype and threads (``runtime``); suite file hashes; the seed; baseline/candidate; the
cache/record/replay mode. ``version`` is the record version
(:data:`.record.RECORD_VERSION`): the manifest and the result lines change shape together.
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .. import __version__
from ..config import ProjectConfig
from ..config_models import ModelConfig
from ..providers.identity import content_hash, function_identity, local_folders
from ..stores.response_cache import ResponseCache, cache_path
from ..textutil import safe_url
from .checkpoint import model_training, runtime
from .lineage import file_sha256, library_versions
from .record import RECORD_VERSION


@dataclass(frozen=True)
class RunMode:
    """How the run was answered: the response cache, record or replay, xdist workers."""

    cache: bool
    record: bool
    replay: bool
    xdist_workers: Any = None


def start_manifest(
    config: pytest.Config, project: ProjectConfig, *, run_id: str, started: str, mode: RunMode, command: list[str]
) -> dict[str, Any]:
    """The manifest written with the first result (``status: running``)."""
    return {
        "version": RECORD_VERSION,
        "run_id": run_id,
        "status": "running",
        "started": started,
        "plugin_version": __version__,
        "python": platform.python_version(),
        "pytest": pytest.__version__,
        "platform": platform.platform(terse=True),
        "libraries": library_versions(),
        "git": git_state(config.rootpath),
        "command": command,
        "rootdir": config.rootpath.as_posix(),
        "config_source": project.source,
        "seed": project.seed,
        "repeat": project.repeat,
        "timeout": project.cli_timeout or project.timeout,
        "baseline": project.baseline,
        "candidate": project.candidate,
        "mode": {
            "cache": mode.cache,
            "record": mode.record,
            "replay": mode.replay,
            "xdist_workers": mode.xdist_workers,
        },
        "models": model_entries(project, config.rootpath, set(), hashes=False),
        "suites": {},
    }


def model_entries(
    project: ProjectConfig,
    rootdir: Path,
    used: set[str],
    *,
    hashes: bool,
    judges: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    """Every configured model; with ``hashes``, what the used ones serve (checkpoint or function hashes).

    ``judges``: the models that graded (judge/rubric): ``used`` too, with ``"judge": true``.
    """
    cache = open_digest_memo(cache_path(project.root, project.cache)) if hashes else None
    used = used | judges
    try:
        entries = {name: _model(model, rootdir, used, cache, hashes) for name, model in sorted(project.models.items())}
    finally:
        if cache is not None:
            cache.close()
    for name in judges & set(entries):
        entries[name]["judge"] = True
    return entries


def _model(
    model: ModelConfig, rootdir: Path, used: set[str], cache: ResponseCache | None, hashes: bool
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "provider": model.provider,
        "served": model.describe_resolved(),
        "model": model.model,
        "path": _relative(model.path, rootdir),
        "adapter": _relative(model.adapter, rootdir),
        "function": model.function,
        "base_url": safe_url(model.resolved_or_raw("base_url")),
        "params": model.params,
        "price": model.price,
        "options": model.options,
        "source": model.source,
        "used": model.name in used,
    }
    if hashes and model.name in used:
        entry.update(model_hashes(model, rootdir, cache))
        training = model_training(model)
        if training:
            entry["training"] = training
        facts = runtime(model)
        if facts is not None:
            entry["runtime"] = facts
    return entry


def _relative(raw: str | None, rootdir: Path) -> str | None:
    """A local path relative to the rootdir (forward slashes) when it lies under it, else as configured."""
    if not raw or "${" in raw or not Path(raw).is_absolute():
        return raw
    try:
        return Path(raw).relative_to(rootdir).as_posix()
    except ValueError:
        return raw


def suite_hashes(rootdir: Path, suites: set[str]) -> dict[str, str | None]:
    """sha256 of each suite file (relative to the rootdir) that ran."""
    return {rel: file_sha256(rootdir / rel) for rel in sorted(suites)}


def model_hashes(model: ModelConfig, rootdir: Path, cache: ResponseCache | None) -> dict[str, Any]:
    """Content hashes of what a model serves: local checkpoint and adapter folders, or a python function."""
    found: dict[str, Any] = {}
    for key, raw in (("checkpoint_sha256", model.path), ("adapter_sha256", model.adapter)):
        folders = local_folders(ModelConfig(name=model.name, provider=model.provider, path=raw)) if raw else []
        if folders:
            found[key] = content_hash(folders, cache)
    if model.provider == "python" and model.function:
        try:
            from ..providers.python import import_function

            found["function_identity"] = function_identity(
                import_function(model.resolved("function") or "", rootdir, what=model.name)
            )
        except Exception:  # the run already reported an unusable function; the record just lacks the hash
            found["function_identity"] = None
    return found


def git_state(root: Path, folders: Iterable[Path] = (), written: Iterable[Path] = ()) -> dict[str, Any] | None:
    """``{"commit", "dirty", "untracked"}`` of the repository holding ``root``; None outside git (or without git).

    ``dirty``: a tracked file changed anywhere, or a file git does not know lies under one of the
    suites' ``folders`` (a new suite or conftest.py changes what runs). What the run writes itself
    is not counted: ``written`` folders (run records, the cache), hidden folders, bytecode.
    """
    git = ["git", "-C", str(root)]
    try:
        commit = _git([*git, "rev-parse", "HEAD"]).strip()
        tracked = _git([*git, "status", "--porcelain", "--untracked-files=no"])
        top = Path(_git([*git, "rev-parse", "--show-toplevel"]).strip())
        spots = sorted({str(f) for f in folders})
        listed = (
            _git([*git, "ls-files", "--others", "--exclude-standard", "--full-name", "--", *spots]) if spots else ""
        )
    except (OSError, subprocess.SubprocessError):
        return None
    skip = [Path(w).resolve() for w in written]
    untracked = [line for line in listed.splitlines() if line and not _own_output(top / line, top, skip)]
    return {"commit": commit, "dirty": bool(tracked.strip() or untracked), "untracked": len(untracked)}


def _git(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, timeout=10, check=True).stdout


def _own_output(path: Path, top: Path, written: list[Path]) -> bool:
    parts = path.relative_to(top).parts
    if any(p.startswith(".") or p == "__pycache__" for p in parts[:-1]) or path.suffix == ".pyc":
        return True
    resolved = path.resolve()  # a cache file's -wal and -shm siblings count as the cache
    return any(resolved.is_relative_to(w) or (resolved.name.startswith(w.name + "-") and resolved.parent == w.parent)
               for w in written)  # fmt: skip


def open_digest_memo(path: Path | None) -> ResponseCache | None:
    """The response cache as a memo of file digests (a checkpoint is hashed once), or None."""
    if path is None or not path.exists():
        return None
    try:
        return ResponseCache.open(path)
    except Exception:  # only a memo of file hashes: without it they are computed again
        return None
