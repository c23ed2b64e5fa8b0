"""The lineage file: what a checkpoint or adapter was trained on, written beside its weights.

``promptcheck-lineage.json`` in the checkpoint (or adapter) folder, one JSON object::

    {"version": 1, "lineage_id": "lin-3f2a9c0d1e4b5a6f", "created": "2026-12-01T23:10:04+00:00",
     "checkpoint": "tuned-2",
     "exports": [{"path": "fails.jsonl", "sha256": "…", "run_id": "20261201T230102.511Z-cc1b56",
                  "lineage_id": "exp-9a8b…", "format": "openai-chat", "rows": 4}],
     "data": [{"path": "correct.jsonl", "sha256": "…"}],
     "base_model": {"path": "models/tuned", "sha256": "…"},
     "parameters": {"steps": 150, "lr": 0.001, "mix": 0.25, "lora": false},
     "seed": 0, "libraries": {"torch": "2.13.0", "transformers": "5.24.0", "peft": null, …},
     "trainer": "example_suite/finetune.py"}

``exports`` are ``--pc-export`` files: each names the run whose failures it holds, read from the
export's ``<stem>.manifest.json`` (whose ``lineage_id`` it repeats, so the two files match up even
after a move). ``base_model.sha256`` is the same content hash the run manifest records for a
checkpoint folder, so a run of the base model is found by hash. Paths are as given (relative to
where the trainer ran when given relative); readers never open them, they identify.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from ..outputs.artifacts import write_json_artifact
from ..outputs.redact import Redactor
from ..providers.identity import content_hash

LINEAGE_FILE = "promptcheck-lineage.json"
LINEAGE_VERSION = 1
# The libraries whose versions decide what a checkpoint is or how it answered; never imported here.
LIBRARIES = ("torch", "transformers", "peft", "tokenizers", "trl", "openai", "anthropic")


class LineageError(ValueError):
    """A lineage file that cannot be read (names the file and what is wrong)."""


@dataclass(frozen=True)
class TrainingInput:
    """One file trained on: an export (with the run that produced it) or other training data."""

    path: str
    sha256: str | None
    run_id: str | None = None  # exports: the run whose failing calls the file holds
    lineage_id: str | None = None  # exports: the export manifest's id
    format: str | None = None
    rows: int | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {"path": self.path, "sha256": self.sha256, "run_id": self.run_id, "lineage_id": self.lineage_id,
                "format": self.format, "rows": self.rows, "note": self.note}  # fmt: skip
        return {k: v for k, v in data.items() if v is not None or k in ("path", "sha256")}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingInput:
        return cls(str(data.get("path", "")), data.get("sha256"), data.get("run_id"), data.get("lineage_id"),
                   data.get("format"), data.get("rows"), data.get("note"))  # fmt: skip


@dataclass(frozen=True)
class Lineage:
    """What one checkpoint was trained on, from what, how; see the module docstring for the file."""

    lineage_id: str
    created: str
    checkpoint: str
    exports: tuple[TrainingInput, ...] = ()
    data: tuple[TrainingInput, ...] = ()
    base_model: dict[str, Any] = field(default_factory=dict)  # path or id, sha256
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    libraries: dict[str, str | None] = field(default_factory=dict)
    trainer: str | None = None
    version: int = LINEAGE_VERSION

    @property
    def run_ids(self) -> list[str]:
        """The runs whose failures this checkpoint was trained on, in export order."""
        return [e.run_id for e in self.exports if e.run_id]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version, "lineage_id": self.lineage_id, "created": self.created,
            "checkpoint": self.checkpoint, "exports": [e.to_json() for e in self.exports],
            "data": [d.to_json() for d in self.data], "base_model": self.base_model,
            "parameters": self.parameters, "seed": self.seed, "libraries": self.libraries, "trainer": self.trainer,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Lineage:
        return cls(
            lineage_id=str(data.get("lineage_id", "")),
            created=str(data.get("created", "")),
            checkpoint=str(data.get("checkpoint", "")),
            exports=tuple(TrainingInput.from_json(e) for e in data.get("exports") or () if isinstance(e, dict)),
            data=tuple(TrainingInput.from_json(d) for d in data.get("data") or () if isinstance(d, dict)),
            base_model=dict(data.get("base_model") or {}),
            parameters=dict(data.get("parameters") or {}),
            seed=data.get("seed"),
            libraries=dict(data.get("libraries") or {}),
            trainer=data.get("trainer"),
            version=int(data.get("version") or LINEAGE_VERSION),
        )


# -- writing ------------------------------------------------------------------------------------------


def write_lineage(
    folder: str | os.PathLike[str],
    *,
    exports: Iterable[str | os.PathLike[str]] = (),
    data: Iterable[str | os.PathLike[str] | TrainingInput] = (),
    base_model: str | os.PathLike[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    seed: int | None = None,
    trainer: str | None = None,
) -> Lineage:
    """Write ``promptcheck-lineage.json`` into the checkpoint ``folder`` (made if missing); returns it.

    ``exports``: ``--pc-export`` files trained on (their ``.manifest.json`` beside them names the
    run). ``data``: other training files (or :class:`TrainingInput` for data without a file).
    ``base_model``: the checkpoint folder trained from (hashed like the run manifest hashes it), or
    a hub id. Call it from any training script after saving the weights::

        from pytest_promptcheck import write_lineage
        write_lineage(out, exports=["fails.jsonl"], base_model="models/tuned",
                      parameters={"steps": 150, "lr": 1e-3}, seed=0, trainer=__file__)
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    lineage = Lineage(
        lineage_id=f"lin-{secrets.token_hex(8)}",
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        checkpoint=out.name,
        exports=tuple(_export_input(Path(p)) for p in exports),
        data=tuple(d if isinstance(d, TrainingInput) else TrainingInput(str(d), file_sha256(Path(d))) for d in data),
        base_model=_base_model(base_model),
        parameters=dict(parameters or {}),
        seed=seed,
        libraries=library_versions(),
        trainer=trainer,
    )
    # through the one writer, scrubbed like every artifact (parameters may hold a token); atomic
    write_json_artifact(out / LINEAGE_FILE, lineage.to_json(), Redactor(), atomic=True, sort_keys=True)
    return lineage


def _export_input(path: Path) -> TrainingInput:
    manifest: dict[str, Any] = {}
    try:
        loaded = json.loads(export_manifest_path(path).read_text(encoding="utf-8"))
        manifest = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError):
        pass  # an export without its manifest (copied alone): the file's hash still identifies it
    counts = manifest.get("counts") if isinstance(manifest.get("counts"), dict) else {}
    return TrainingInput(
        str(path), file_sha256(path), run_id=manifest.get("run_id"), lineage_id=manifest.get("lineage_id"),
        format=manifest.get("format"), rows=counts.get("train") if counts else None,
    )  # fmt: skip


def _base_model(base: str | os.PathLike[str] | None) -> dict[str, Any]:
    if base is None:
        return {}
    path = Path(base)
    if path.is_dir():
        return {"path": str(base), "sha256": content_hash([path])}
    return {"id": str(base), "sha256": None}  # a hub id or a folder not on this machine


# -- reading ------------------------------------------------------------------------------------------


def read_lineage(folder: Path) -> Lineage | None:
    """The lineage file of a checkpoint folder; None when it has none; :class:`LineageError` when unreadable."""
    path = folder / LINEAGE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LineageError(
            f"{path}: not readable JSON ({exc}); rewrite it with pytest_promptcheck.write_lineage"
        ) from None
    if not isinstance(data, dict):
        raise LineageError(f"{path}: expected a JSON object; rewrite it with pytest_promptcheck.write_lineage")
    if int(data.get("version") or 1) > LINEAGE_VERSION:
        raise LineageError(f"{path}: version {data['version']} is newer than this reader; upgrade pytest-promptcheck")
    return Lineage.from_json(data)


# -- shared with the export and the run manifest ------------------------------------------------------


def export_manifest_path(export: Path) -> Path:
    """``<stem>.manifest.json`` beside an export file (``<stem>`` is the path without ``.jsonl``)."""
    stem = export.with_suffix("") if export.suffix == ".jsonl" else export
    return Path(f"{stem}.manifest.json")


def export_lineage_id(run_id: str | None, train_sha256: str) -> str:
    """The export's id: the same run exported to the same bytes gets the same id."""
    return "exp-" + hashlib.sha256(f"{run_id}\0{train_sha256}".encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def library_versions() -> dict[str, str | None]:
    """Installed versions of :data:`LIBRARIES` (None: not installed), from package metadata, no imports."""
    found: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found
