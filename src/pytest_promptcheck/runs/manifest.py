"""The run manifest: what ran, on what, so a run can be reproduced and compared later.

Plugin, Python and pytest versions; git commit and dirty flag; the command line; every configured
model with provider, params, what is served and, for the models used, the content hash of local
checkpoint/adapter folders or of a ``python`` function; suite file hashes; the seed;
baseline/candidate; the cache/record/replay mode. ``version`` is the record version
(:data:`.record.RECORD_VERSION`): the manifest and the result lines change shape together.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .. import __version__
from ..config import ModelConfig, ProjectConfig
from ..providers.identity import content_hash, function_identity, local_folders
from ..stores.response_cache import ResponseCache, cache_path
from ..textutil import safe_url
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
        "path": model.path,
        "adapter": model.adapter,
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
    return entry


def suite_hashes(rootdir: Path, suites: set[str]) -> dict[str, str | None]:
    """sha256 of each suite file (relative to the rootdir) that ran."""
    return {rel: _file_sha256(rootdir / rel) for rel in sorted(suites)}


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


def _file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def open_digest_memo(path: Path | None) -> ResponseCache | None:
    """The response cache as a memo of file digests (a checkpoint is hashed once), or None."""
    if path is None or not path.exists():
        return None
    try:
        return ResponseCache.open(path)
    except Exception:  # only a memo of file hashes: without it they are computed again
        return None
