"""Per process (each pytest-xdist worker, or the only process): the engine's stores (SPEC §8).

Once suites are collected, the response cache (or, with ``--pc-replay``, the collected suites'
cassettes) and, with ``--pc-record``, a call log are handed to the engine, before the scheduler
starts the first call. Recorded calls leave the process on the items' setup reports, so only
the controller writes cassettes (:mod:`.cassettes`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .cache import ResponseCache
    from .cassettes import CallLog
    from .session import PromptSession


class CacheWarning(UserWarning):
    """The response cache could not be used; the run went on without it."""


class CallStorage:
    """Registered in every process; does nothing until prompt items are collected."""

    def __init__(self, config: pytest.Config, state: PromptSession) -> None:
        self.config = config
        self.state = state
        self.log: CallLog | None = None
        self.cache: ResponseCache | None = None
        self._warned = False

    @pytest.hookimpl(tryfirst=True)  # before the plugin's own collection_finish starts the calls
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        state, option = self.state, self.config.option
        if not state.suites_collected or state.project.dry_run or option.collectonly:
            return
        from .cassettes import CallLog, CassetteIndex, cassette_path
        from .collect import PromptItem
        from .engine import CallStores
        from .redact import redactor_for

        items = [item for item in session.items if isinstance(item, PromptItem)]
        if not items:
            return
        stores = CallStores()
        if option.pc_replay:
            suites = {id(i.suite): i.suite for i in items}  # thousands of items share a few suites
            stores.replay = CassetteIndex.load(cassette_path(s.path, s.name) for s in suites.values())
        else:
            self.cache = stores.cache = self._open_cache()
            if option.pc_record:
                self.log = stores.recorder = CallLog(redactor_for(state.project))
        state.engine.stores = stores
        if self.log is not None or self.cache is not None:  # a replay has nothing to do per report
            self.config.pluginmanager.register(_ReportHook(self), "promptcheck-storage-reports")

    def _open_cache(self) -> ResponseCache | None:
        from .cache import CacheUnavailable, ResponseCache, cache_path

        if self.config.option.pc_no_cache:
            return None
        path = cache_path(self.state.project.root, self.state.project.cache)
        if path is None:
            return None
        try:
            return ResponseCache.open(path)
        except CacheUnavailable as exc:
            self._warn(str(exc))
            return None

    def after_report(self, item: pytest.Item, when: str, report: pytest.TestReport) -> None:
        if when == "setup" and self.log is not None:
            self._attach_recorded(item, report)
        if self.cache is not None and self.cache.problem is not None:
            self._warn(self.cache.problem)  # raised on the loop thread; said here, where pytest records it

    def _attach_recorded(self, item: pytest.Item, report: pytest.TestReport) -> None:
        from .cassettes import REPORT_ATTR
        from .collect import PromptItem
        from .engine import call_key

        if not isinstance(item, PromptItem) or self.log is None:
            return
        keys = [call_key(item.model, request) for *_, request in item.planned]
        entries = self.log.claim(keys, item.case.id)
        if entries:
            setattr(report, REPORT_ATTR, {"suite": item.suite_relpath, "name": item.suite.name, "entries": entries})

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(CacheWarning(message), stacklevel=2)


class _ReportHook:
    """The per-report part of :class:`CallStorage`, registered only when it has work to do."""

    def __init__(self, storage: CallStorage) -> None:
        self.storage = storage

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        self.storage.after_report(item, call.when, report)
        return report


def register(config: pytest.Config, state: PromptSession, *, worker: bool) -> None:
    """Register the stores plugin everywhere, and the record/cassette/export writers where reports gather.

    Writers live on the controller (or the only process): under pytest-xdist the workers send their
    reports there, so one run gives one record, one set of cassettes and one export.
    """
    option = config.option
    if option.pc_record and option.pc_replay:
        raise pytest.UsageError("--pc-record and --pc-replay exclude each other: record once, then replay")
    if option.pc_export_split is not None and not 0 < option.pc_export_split <= 1:
        raise pytest.UsageError(f"--pc-export-split is the train share, between 0 and 1 (got {option.pc_export_split})")
    if option.pc_export_split is not None and not option.pc_export:
        raise pytest.UsageError("--pc-export-split needs --pc-export PATH (where the training file goes)")
    config.pluginmanager.register(CallStorage(config, state), "promptcheck-storage")
    if worker or state.project.dry_run:
        return
    from .records import RunRecorder

    config.pluginmanager.register(RunRecorder(config, state), "promptcheck-records")
    if option.pc_record:
        from .cassettes import CassetteWriter

        config.pluginmanager.register(CassetteWriter(config), "promptcheck-cassettes")
    if option.pc_export:
        from .export import ExportOptions, FailureExporter

        out = Path(config.invocation_params.dir) / option.pc_export
        options = ExportOptions(option.pc_export_format, option.pc_export_side, option.pc_export_split)
        config.pluginmanager.register(FailureExporter(config, out, options), "promptcheck-export")
