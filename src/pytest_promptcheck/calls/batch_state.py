"""Submitted batches, remembered in ``.promptcheck/batches/`` (beside the run folders) so a rerun resumes them.

One JSON file per batch: its id, the model (name, what is served, where), when it was submitted,
and its requests (custom id → the call's run key). A rerun of the same command plans the same
calls (the same run keys): a remembered batch of that model holding calls still to make is polled
again instead of submitting them a second time (only the calls no batch holds are submitted anew). The file goes once its results are
collected (the response cache then holds them); a batch that could not be polled stays.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import ProjectConfig
    from ..config_models import ModelConfig
    from ..outputs.redact import Redactor

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class BatchState:
    batch_id: str
    model: str
    served: str
    base_url: str
    submitted: float  # time.time() when submitted
    requests: dict[str, str]  # custom id -> run key

    def to_json(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "model": self.model, "served": self.served, "base_url": self.base_url,
                "submitted": self.submitted, "requests": self.requests}  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> BatchState | None:
        try:
            return cls(str(data["batch_id"]), str(data["model"]), str(data["served"]), str(data["base_url"]),
                       float(data["submitted"]), {str(k): str(v) for k, v in data["requests"].items()})  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # not one of ours, or from another version: never resumed


def batches_dir(project: ProjectConfig) -> Path:
    """``.promptcheck/batches`` for the default ``runs = ".promptcheck/runs"``: the run folders' sibling."""
    return (project.root / project.runs).parent / "batches"


def where_served(model: ModelConfig) -> tuple[str, str]:
    """What a batch's model serves and where: a remembered batch resumes only for the same."""
    return model.describe_resolved(), model.resolved_or_raw("base_url") or ""


class BatchStore:
    """The remembered batches of one project."""

    def __init__(self, folder: Path, redactor: Redactor) -> None:
        self.folder = folder
        self.redactor = redactor

    def _path(self, batch_id: str) -> Path:
        return self.folder / f"{_UNSAFE.sub('_', batch_id)}.json"

    def holding(self, model: ModelConfig, keys: set[str]) -> list[BatchState]:
        """The remembered batches of ``model`` that hold calls in ``keys``, newest first, each holding one
        the newer ones do not (so no call is collected twice)."""
        served, base_url = where_served(model)
        found = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else ():
            with contextlib.suppress(OSError, ValueError):
                state = BatchState.from_json(json.loads(path.read_text(encoding="utf-8")))
                if state is not None and (state.model, state.served, state.base_url) == (model.name, served, base_url):
                    found.append(state)
        chosen: list[BatchState] = []
        covered: set[str] = set()
        for state in sorted(found, key=lambda s: s.submitted, reverse=True):
            mine = set(state.requests.values()) & keys
            if mine - covered:
                chosen.append(state)
                covered |= mine
        return chosen

    def remember(self, state: BatchState) -> None:
        from ..outputs.artifacts import write_json_artifact

        write_json_artifact(self._path(state.batch_id), state.to_json(), self.redactor, atomic=True)

    def forget(self, state: BatchState) -> None:
        from ..outputs.artifacts import remove_file

        remove_file(self._path(state.batch_id))
