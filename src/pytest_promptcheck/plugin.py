"""pytest-promptcheck's pytest hooks: thin delegates that wire the parts.

Options, their validation and the listeners they register live in :mod:`.options`; suites are
collected by :mod:`.items.file`; calls start in :mod:`.calls.schedule`; the end of a run is
:mod:`.listeners.run_end`. Nothing heavy is imported here, and nothing is written unless a suite
is collected.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import hookspecs, options
from .session import SESSION_KEY, PromptSession, get_session

if TYPE_CHECKING:
    from .listeners.run_end import RunEnd

_SKIP_DIRS = frozenset({"__snapshots__", "cassettes"})


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    state = config.stash[SESSION_KEY] = PromptSession(config, options.project_config(config))
    options.register_listeners(config, state)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    project = get_session(parent.config).project
    if not any(fnmatch.fnmatch(file_path.name, pattern) for pattern in project.files):
        return None
    if _SKIP_DIRS.intersection(file_path.parts):
        return None
    from .items.file import PromptFile

    return PromptFile.from_parent(parent, path=file_path)


def pytest_collection_finish(session: pytest.Session) -> None:
    state = get_session(session.config)
    if not state.suites_collected:
        return
    from .items.file import check_providers
    from .items.item import PromptItem
    from .items.lifetime import freeze_survivors

    items = [item for item in session.items if isinstance(item, PromptItem)]
    check_providers(items)
    if items:
        freeze_survivors(session.config)  # the items live until the end: keep the collector off them
    if state.project.dry_run:
        return  # each item's record carries what it would send: the controller lists it (_section)
    if not items or session.config.option.collectonly or _collection_failed(session):
        return
    from .listeners.call_stores import CALL_STORES_KEY

    session.config.stash[CALL_STORES_KEY].open(items)  # the cache or cassettes answer first: open them first
    if not options.is_xdist_worker(session.config):
        from .items.batching import batch_phase

        items = batch_phase(session.config, state, items)  # --pc-batch: answered by batches first
        state.scheduler.upcoming(items)  # every selected item will run: start their calls now


def _collection_failed(session: pytest.Session) -> bool:
    """pytest stops before running anything ("Interrupted: N errors during collection"): start no call,
    or a paid API bills a run that reports nothing."""
    return bool(session.testsfailed) and not session.config.option.continue_on_collection_errors


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # Under xdist a worker learns item by item what it runs; start the calls of what it knows.
    config = item.config
    if not options.is_xdist_worker(config) or get_session(config).project.dry_run:
        return
    from .calls.xdist_queue import queued_items
    from .items.item import PromptItem

    upcoming = [i for i in (item, nextitem, *queued_items(item.session)) if isinstance(i, PromptItem)]
    if upcoming:
        get_session(config).scheduler.upcoming(upcoming)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    attach_record = getattr(item, "attach_record", None)  # a PromptItem (no import of items needed)
    if attach_record is not None:
        attach_record(report)  # the record travels with the report, to the xdist controller too
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    state = get_session(config)
    if not state.suites_collected and not state.tally.outcomes:  # the xdist controller collects nothing
        return
    from .outputs.terminal import write_summary

    end = options.run_end(config)
    after = end.after_section() if end is not None else []
    write_summary(terminalreporter, _section(state, end), after, state.redactor)


def _section(state: PromptSession, end: RunEnd | None) -> list[str]:
    """The promptcheck section: the dry-run listing, else the run summary, else the outcome tally."""
    if state.project.dry_run and end is not None:
        from .outputs.dryrun import dry_run_lines

        verbose = end.aggregator.config.get_verbosity() > 0
        return list(dry_run_lines(end.aggregator.records.values(), state.project.models, verbose=verbose))
    summary = end.aggregator.summary if end is not None else None
    if summary is not None:
        from .outputs.summary_text import lines

        return lines(summary)
    return state.tally.lines()


@pytest.hookimpl(trylast=True)  # after the run's end (records, gate, exports)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if SESSION_KEY in session.config.stash and get_session(session.config).suites_collected:
        from .items.lifetime import freeze_survivors

        freeze_survivors(session.config)  # reports and records too: the interpreter's exit need not walk them


def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION_KEY in config.stash:
        config.stash[SESSION_KEY].close()
