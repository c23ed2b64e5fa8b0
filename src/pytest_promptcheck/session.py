"""Per-session state of the plugin, kept on ``config.stash`` (no module globals)."""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .config import ProjectConfig
from .errors import PromptcheckWarning

if TYPE_CHECKING:
    from .assertions.base import AssertionRegistry
    from .assertions.evaluate import Verdict
    from .engine import Engine
    from .providers.registry import ProviderRegistry
    from .redact import Redactor
    from .report.terminal import RunTally
    from .schedule import CallScheduler
    from .snapshots import SnapshotStore


@dataclass
class Registries:
    providers: ProviderRegistry
    assertions: AssertionRegistry


@dataclass
class PromptSession:
    """Everything the plugin holds for one pytest session (one per xdist worker)."""

    config: pytest.Config
    project: ProjectConfig
    registries: dict[Path, Registries] = field(default_factory=dict)
    snapshots: dict[Path, SnapshotStore] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    suites_collected: int = 0
    tag_markers: dict[str, pytest.MarkDecorator] = field(default_factory=dict)
    dry_run_lines: list[str] = field(default_factory=list)
    tally: RunTally = field(default_factory=lambda: _new_tally())
    drift_checked: bool = False
    _engine: Engine | None = None
    _scheduler: CallScheduler | None = None

    def registries_for(self, node: pytest.Collector) -> Registries:
        """Providers and assertions visible from ``node``'s directory (conftest registrations apply below)."""
        key = node.path.parent
        found = self.registries.get(key)
        if found is None:
            from .assertions.base import AssertionRegistry
            from .providers.registry import ProviderRegistry

            found = Registries(ProviderRegistry(), AssertionRegistry())
            node.ihook.pytest_promptcheck_register_providers(registry=found.providers)
            node.ihook.pytest_promptcheck_register_assertions(registry=found.assertions)
            self.registries[key] = found
        return found

    def snapshot_store(self, suite_path: Path, suite_name: str) -> SnapshotStore:
        from .snapshots import SnapshotStore, snapshot_path

        path = snapshot_path(suite_path, suite_name)
        store = self.snapshots.get(path)
        if store is None:
            store = self.snapshots[path] = SnapshotStore(path)
        return store

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from .engine import Engine
            from .providers.base import ProviderContext

            self._engine = Engine(ProviderContext(self.project, self.config.rootpath))
        return self._engine

    @property
    def scheduler(self) -> CallScheduler:
        if self._scheduler is None:
            from .schedule import CallScheduler

            self._scheduler = CallScheduler(self.engine, self.project, self._factory_for)
        return self._scheduler

    def _factory_for(self, item: Any) -> Any:
        return item.parent.registries.providers.get(item.model.provider)  # set when the file was collected

    @functools.cached_property
    def redactor(self) -> Redactor:
        """Scrubs credentials (env secrets, key shapes, `redact` patterns) from text a person sees."""
        from .redact import redactor_for

        return redactor_for(self.project)

    def check_drift(self) -> None:
        """Say once when baseline and candidate differ in chat template, tokenizer or generation config.

        Those differences move scores silently (a known trap when comparing checkpoints across
        backends); the comparison then measures the template as much as the weights.
        """
        baseline, candidate = self.project.baseline, self.project.candidate
        if self.drift_checked or self._engine is None or not baseline or not candidate:
            return
        first, second = self._engine.fingerprint(baseline), self._engine.fingerprint(candidate)
        if first is None or second is None:
            return  # not both running yet (or not local models): look again after the next item
        self.drift_checked = True
        from .providers.transformers import describe_drift

        differences = describe_drift(first, second)
        if differences:
            warnings.warn(
                PromptcheckWarning(
                    f"baseline {baseline!r} and candidate {candidate!r} differ in more than weights: "
                    f"{'; '.join(differences)}. Score differences may come from these, not from training."
                ),
                stacklevel=1,
            )

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def suite_cache_dir(self) -> Path | None:
        cache: Any = getattr(self.config, "cache", None)
        if cache is None:
            return None
        return Path(cache.mkdir("promptcheck-suites"))


def _new_tally() -> RunTally:
    from .report.terminal import RunTally

    return RunTally()


SESSION_KEY = pytest.StashKey[PromptSession]()


def get_session(config: pytest.Config) -> PromptSession:
    return config.stash[SESSION_KEY]
