"""Gated attempts: how many candidates the run history gated against this baseline on these suites.

A candidate re-fine-tuned and re-gated until it passes gets a true regression through sooner or
later; the run records know every attempt, so the gate counts them. An attempt is a distinct
candidate (rerunning the same weights is not a new attempt) gated against the same baseline on the
same suite files. Identities are as the response cache sees them — content hashes of a local
checkpoint and adapter, a ``python`` function's source, else the model id and base URL. Only what
``.promptcheck/runs`` (``runs`` in the config) holds is counted: a CI job that keeps that folder
between jobs keeps the count; a fresh clone starts at 0.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from ..config import ProjectConfig
from ..config_models import ModelConfig
from ..stores.response_cache import ResponseCache, cache_path
from ..textutil import safe_url
from .folder import read_manifest, run_folders
from .manifest import model_hashes, open_digest_memo, suite_hashes


def gate_identity(project: ProjectConfig, rootdir: Path, suites: set[str]) -> dict[str, Any] | None:
    """What a gated run is an attempt at (baseline and suites) and with what (the candidate)."""
    baseline, candidate = project.models.get(project.baseline or ""), project.models.get(project.candidate or "")
    if baseline is None or candidate is None:
        return None
    memo = open_digest_memo(cache_path(project.root, project.cache))  # the manifest hashes the same files
    try:
        return {
            "baseline": _model(baseline, rootdir, memo),
            "suites": suite_hashes(rootdir, suites),
            "candidate": _model(candidate, rootdir, memo),
        }
    finally:
        if memo is not None:
            memo.close()


def _model(model: ModelConfig, rootdir: Path, memo: ResponseCache | None) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "served": model.describe_resolved(),
        "base_url": safe_url(model.resolved_or_raw("base_url")),
    }
    with contextlib.suppress(OSError):  # a checkpoint that cannot be read: the model id stands for it
        identity.update(model_hashes(model, rootdir, memo))
    return identity


def earlier_attempts(runs_dir: Path, identity: dict[str, Any]) -> int:
    """Other candidates gated in ``runs_dir`` against the same baseline on the same suites."""
    target = _key(identity, "baseline", "suites")
    candidates = set()
    for folder in run_folders(runs_dir):
        try:
            gate = read_manifest(folder).get("gate")
        except (OSError, ValueError):
            continue
        found = gate.get("identity") if isinstance(gate, dict) and gate.get("enforced") else None
        if isinstance(found, dict) and _key(found, "baseline", "suites") == target:
            candidates.add(_key(found, "candidate"))
    candidates.discard(_key(identity, "candidate"))
    return len(candidates)


def _key(identity: dict[str, Any], *parts: str) -> str:
    return json.dumps([identity.get(p) for p in parts], sort_keys=True)
