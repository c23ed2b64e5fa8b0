"""Per process (each pytest-xdist worker, or the only process): the engine's stores (SPEC §8).

Once suites are collected (``plugin.pytest_collection_finish`` calls :meth:`CallStorage.open`
before the scheduler starts the first call), the response cache (or, with ``--pc-replay``, the
collected suites' cassettes) and, with ``--pc-record``, a call log are handed to the engine.
Recorded calls leave the process on the items' setup reports, so only the controller writes
cassettes (:mod:`.cassette_writer`).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..items.item import PromptItem
    from ..session import PromptSession
    from ..stores.cassettes import CallLog
    from ..stores.response_cache import ResponseCache


class CacheWarning(UserWarning):
    """The response cache could not be used; the run went on without it."""


class CallStorage:
    """One per process; opens the stores for the collected items."""

    def __init__(self, config: pytest.Config, state: PromptSession) -> None:
        self.config = config
        self.state = state
        self.log: CallLog | None = None
        self.cache: ResponseCache | None = None
        self._warned = False

    def open(self, items: list[PromptItem]) -> None:
        """Give the engine its stores for ``items`` (the selected prompt items; not in a dry run)."""
        state, option = self.state, self.config.option
        from ..calls.engine import CallStores
        from ..stores.cassettes import CallLog, CassetteIndex, cassette_path

        stores = CallStores()
        if option.pc_replay:
            suites = {id(i.suite): i.suite for i in items}  # thousands of items share a few suites
            stores.replay = CassetteIndex.load(cassette_path(s.path, s.name) for s in suites.values())
        else:
            self.cache = stores.cache = self._open_cache()
            if option.pc_record:
                self.log = stores.recorder = CallLog(state.redactor)
        state.engine.stores = stores
        if self.log is not None or self.cache is not None:  # a replay has nothing to do per report
            self.config.pluginmanager.register(_ReportHook(self), "promptcheck-storage-reports")

    def _open_cache(self) -> ResponseCache | None:
        from ..stores.response_cache import CacheUnavailable, ResponseCache, cache_path

        if self.config.option.pc_no_cache:
            return None
        path = cache_path(self.state.project.root, self.state.project.cache)
        if path is None:
            return None
        try:
            return ResponseCache.open(path, self.state.redactor)
        except CacheUnavailable as exc:
            self._warn(str(exc))
            return None

    def after_report(self, item: pytest.Item, when: str, report: pytest.TestReport) -> None:
        if when == "setup" and self.log is not None:
            self._attach_recorded(item, report)
        if self.cache is not None and self.cache.problem is not None:
            self._warn(self.cache.problem)  # raised on the loop thread; said here, where pytest records it

    def _attach_recorded(self, item: pytest.Item, report: pytest.TestReport) -> None:
        from ..calls.keys import run_key
        from ..items.item import PromptItem
        from ..stores.cassettes import REPORT_ATTR

        if not isinstance(item, PromptItem) or self.log is None:
            return
        keys = [run_key(item.model, call.request) for call in (*item.planned, *item.confirmation_calls)]
        entries = self.log.claim(keys, item.case.id)
        if entries:
            setattr(report, REPORT_ATTR, {"suite": item.suite_relpath, "name": item.suite.name, "entries": entries})

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(CacheWarning(message), stacklevel=2)


CALL_STORES_KEY = pytest.StashKey[CallStorage]()


class _ReportHook:
    """The per-report part of :class:`CallStorage`, registered only when it has work to do."""

    def __init__(self, storage: CallStorage) -> None:
        self.storage = storage

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        self.storage.after_report(item, call.when, report)
        return report
