"""Per-session state of the plugin, kept on ``config.stash`` (no module globals)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .config import ProjectConfig
from .config_models import ModelConfig
from .errors import ConfigError
from .listeners.tally import RunTally

if TYPE_CHECKING:
    from .calls.engine import Engine
    from .calls.schedule import CallScheduler
    from .outputs.redact import Redactor
    from .providers.base import ProviderFactory
    from .providers.registry import ProviderRegistry
    from .stores.snapshots import SnapshotStore
    from .verdicts.base import AssertionRegistry


@dataclass
class Registries:
    """The providers and assertions registered for one folder's suites (conftest.py registrations apply below)."""

    providers: ProviderRegistry
    assertions: AssertionRegistry

    def provider_for(self, model: ModelConfig) -> ProviderFactory:
        """The factory of ``model``'s provider; a ConfigError naming what is registered when there is none."""
        factory = self.providers.get(model.provider)
        if factory is None:
            raise ConfigError(
                f"model {model.name!r} ({model.source}) uses unknown provider {model.provider!r}; "
                f"registered: {', '.join(self.providers.names())}. Register it with the "
                "pytest_promptcheck_register_providers hook (e.g. in conftest.py) or fix the name"
            )
        return factory


@dataclass
class PromptSession:
    """Everything the plugin holds for one pytest session (one per xdist worker)."""

    config: pytest.Config
    project: ProjectConfig
    registries: dict[Path, Registries] = field(default_factory=dict)
    snapshots: dict[Path, SnapshotStore] = field(default_factory=dict)
    suites_collected: int = 0
    tag_markers: dict[str, pytest.MarkDecorator] = field(default_factory=dict)
    lint_notes: list[str] = field(default_factory=list)  # `file:line: what promptcheck lint left unchecked`
    tally: RunTally = field(default_factory=RunTally)
    drift_checked: bool = False
    _engine: Engine | None = None
    _scheduler: CallScheduler | None = None

    def registries_for(self, node: pytest.Collector) -> Registries:
        """Providers and assertions visible from ``node``'s directory (conftest registrations apply below)."""
        key = node.path.parent
        found = self.registries.get(key)
        if found is None:
            from .providers.registry import ProviderRegistry
            from .verdicts.base import AssertionRegistry

            found = Registries(ProviderRegistry(), AssertionRegistry())
            node.ihook.pytest_promptcheck_register_providers(registry=found.providers)
            node.ihook.pytest_promptcheck_register_assertions(registry=found.assertions)
            self.registries[key] = found
        return found

    def snapshot_store(self, suite_path: Path, suite_name: str) -> SnapshotStore:
        from .stores.snapshots import SnapshotStore, snapshot_path

        path = snapshot_path(suite_path, suite_name)
        store = self.snapshots.get(path)
        if store is None:
            store = self.snapshots[path] = SnapshotStore(path)
        return store

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from .calls.engine import Engine
            from .providers.base import ProviderContext

            self._engine = Engine(ProviderContext(self.project, self.config.rootpath))
        return self._engine

    @property
    def scheduler(self) -> CallScheduler:
        if self._scheduler is None:
            from .calls.schedule import CallScheduler

            self._scheduler = CallScheduler(self.engine, self.project, self._factory_for)
        return self._scheduler

    def _factory_for(self, item: Any) -> Any:
        return item.parent.registries.providers.get(item.model.provider)  # set when the file was collected

    @functools.cached_property
    def redactor(self) -> Redactor:
        """Scrubs credentials (env secrets, key shapes, `redact` patterns) from text a person sees."""
        from .outputs.redact import redactor_for

        return redactor_for(self.project)

    def check_drift(self) -> tuple[str, ...]:
        """What baseline and candidate differ in besides weights (chat template, tokenizer, generation
        config), the first time both are loaded; () before and after that.

        Those differences move scores silently (a known trap when comparing checkpoints across
        backends); the comparison then measures the template as much as the weights. The item that
        finds them puts them in its record, so the controller says so once per run (and under xdist
        once, not once per worker) and the manifest keeps them.
        """
        baseline, candidate = self.project.baseline, self.project.candidate
        if self.drift_checked or self._engine is None or not baseline or not candidate:
            return ()
        first, second = self._engine.fingerprint(baseline), self._engine.fingerprint(candidate)
        if first is None or second is None:
            return ()  # not both running yet (or not local models): look again after the next item
        self.drift_checked = True
        from .providers.fingerprint import describe_drift

        details = (
            self._engine.fingerprint(baseline, "drift_details"),
            self._engine.fingerprint(candidate, "drift_details"),
        )
        readable = (details[0], details[1]) if details[0] is not None and details[1] is not None else None
        return tuple(describe_drift(first, second, details=readable))

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def suite_cache_dir(self) -> Path | None:
        cache: Any = getattr(self.config, "cache", None)
        if cache is None:
            return None
        return Path(cache.mkdir("promptcheck-suites"))


SESSION_KEY = pytest.StashKey[PromptSession]()


def get_session(config: pytest.Config) -> PromptSession:
    return config.stash[SESSION_KEY]
