"""pytest-promptcheck's pytest hooks: options, configuration, collection. Thin: it wires the parts.

Nothing heavy is imported here, and nothing is written unless a suite is collected.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

from . import hookspecs
from .config import CliOptions, load_project_config
from .errors import ConfigError
from .session import SESSION_KEY, PromptSession, get_session

_SKIP_DIRS = frozenset({"__snapshots__", "cassettes"})
_INI_KEYS = ("files", "models", "baseline", "candidate", "concurrency", "timeout", "seed", "cache", "runs")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("promptcheck", "prompt suites (pytest-promptcheck)")
    group.addoption("--pc-models", metavar="A,B", help="run only these models (intersected with each case's models)")
    group.addoption(
        "--pc-model",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        dest="pc_model_specs",
        help="define or override a model: hf:PATH, openai:MODEL, anthropic:MODEL, python:module:function (repeatable)",
    )
    group.addoption("--pc-baseline", metavar="NAME", help="the reference model of comparisons")
    group.addoption("--pc-candidate", metavar="NAME", help="the model being gated")
    group.addoption("--pc-concurrency", type=int, metavar="N", help="in-flight calls per model (overrides config)")
    group.addoption("--pc-repeat", type=int, metavar="N", help="samples per call for every case (overrides `repeat`)")
    group.addoption("--pc-timeout", type=float, metavar="S", help="seconds per model call (overrides config and cases)")
    group.addoption("--pc-seed", type=int, metavar="N", help="base seed; each call's seed derives from it")
    group.addoption("--pc-dry-run", action="store_true", help="list the calls and their estimated cost; call nothing")
    # -- comparison and gate (compare.py, gate.py, metrics.py) ---------------------------------
    group.addoption("--pc-gate", action="store_true", help="the baseline-vs-candidate gate decides the exit status")
    group.addoption(
        "--pc-report", action="append", default=[], metavar="FORMAT:PATH", dest="pc_reports",
        help="write a report: json:PATH, html:PATH or md:PATH (repeatable)",
    )  # fmt: skip
    # -- records, cache, record/replay, export (records.py, cache.py, cassettes.py, export.py) ---
    group.addoption("--pc-no-cache", action="store_true", help="neither read nor write the response cache")
    group.addoption("--pc-record", action="store_true", help="record model answers to <suite dir>/cassettes/")
    group.addoption("--pc-replay", action="store_true", help="answer from cassettes only: no network, no keys")
    group.addoption("--pc-export", metavar="PATH", help="write failing cases as fine-tuning data (JSONL)")
    group.addoption(
        "--pc-export-format", default="openai-chat", metavar="FORMAT",
        choices=["openai-chat", "openai-dpo", "bedrock-claude", "trl-sft", "trl-dpo"],
        help="openai-chat (default), openai-dpo, bedrock-claude, trl-sft, trl-dpo",
    )  # fmt: skip
    group.addoption(
        "--pc-export-side", choices=["candidate", "baseline", "all"], metavar="SIDE",
        help="whose failures to export: candidate (default when one is configured), baseline, all",
    )  # fmt: skip
    group.addoption(
        "--pc-export-split", type=float, metavar="FRACTION",
        help="train share of the export; the rest goes to <stem>.val.jsonl (seeded by `seed`)",
    )  # fmt: skip
    group.addoption("--pc-update", action="store_true", help="rewrite changed snapshots and remove unused ones")
    for key in _INI_KEYS:
        help_text = f"pytest-promptcheck: `{key}` (when not set in [tool.promptcheck])"
        if key in ("files", "models"):
            parser.addini(f"promptcheck_{key}", help_text, type="linelist")
        else:
            parser.addini(f"promptcheck_{key}", help_text, type="string")


def pytest_configure(config: pytest.Config) -> None:
    option = config.option
    cli = CliOptions(
        models=option.pc_models,
        model_specs=tuple(option.pc_model_specs),
        baseline=option.pc_baseline,
        candidate=option.pc_candidate,
        concurrency=option.pc_concurrency,
        repeat=option.pc_repeat,
        timeout=option.pc_timeout,
        seed=option.pc_seed,
        dry_run=option.pc_dry_run,
    )
    if (cli.repeat is not None and cli.repeat < 1) or (cli.concurrency is not None and cli.concurrency < 1):
        raise pytest.UsageError("--pc-repeat and --pc-concurrency need a number >= 1")
    ini = {key: config.getini(f"promptcheck_{key}") for key in _INI_KEYS}
    try:
        project = load_project_config(config.rootpath, config.inipath, ini, cli, cwd=Path(config.invocation_params.dir))
    except ConfigError as exc:
        raise pytest.UsageError(f"pytest-promptcheck: {exc}") from None
    state = config.stash[SESSION_KEY] = PromptSession(config, project)
    from . import builtins

    config.pluginmanager.register(builtins, "promptcheck-builtins")
    config.pluginmanager.register(state.tally, "promptcheck-tally")
    _register_run_plugins(config, state)


def _register_run_plugins(config: pytest.Config, state: PromptSession) -> None:
    """Stateful parts that aggregate a run from reports (on the xdist controller too)."""
    # -- comparison and gate: register here (see compare.py / gate.py) --------------------------
    from .aggregate import register as register_aggregator

    register_aggregator(config, state.project)  # metrics, comparison, gate, --pc-report
    # -- run records, export: register here (see records.py / export.py) ------------------------
    from .storage import register as register_storage

    register_storage(config, state, worker=_is_xdist_worker(config))  # cache, cassettes, run record, export
    # -- snapshots --pc-update (snapshot_update.py) -------------------------------------------------
    from .snapshot_update import register as register_snapshots

    register_snapshots(config, worker=_is_xdist_worker(config))  # write/rewrite snapshots, report unused ones


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    project = get_session(parent.config).project
    if not any(fnmatch.fnmatch(file_path.name, pattern) for pattern in project.files):
        return None
    if _SKIP_DIRS.intersection(file_path.parts):
        return None
    from .collect import PromptFile

    return PromptFile.from_parent(parent, path=file_path)


def pytest_collection_finish(session: pytest.Session) -> None:
    state = get_session(session.config)
    if not state.suites_collected:
        return
    from .collect import PromptItem, check_providers
    from .lifetime import freeze_survivors

    items = [item for item in session.items if isinstance(item, PromptItem)]
    check_providers(items, state)
    if items:
        freeze_survivors(session.config)  # the items live until the end: keep the collector off them
    if state.project.dry_run:
        from .report.dryrun import dry_run_lines

        state.dry_run_lines = list(dry_run_lines(items, verbose=session.config.get_verbosity() > 0))
    elif items and not _is_xdist_worker(session.config) and not session.config.option.collectonly:
        state.scheduler.upcoming(items)  # every selected item will run: start their calls now


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # Under xdist a worker learns item by item what it runs; start the calls of what it knows.
    config = item.config
    if not _is_xdist_worker(config) or get_session(config).project.dry_run:
        return
    from .collect import PromptItem
    from .xdist_queue import queued_items

    upcoming = [i for i in (item, nextitem, *queued_items(item.session)) if isinstance(i, PromptItem)]
    if upcoming:
        get_session(config).scheduler.upcoming(upcoming)


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    attach_record = getattr(item, "attach_record", None)  # a PromptItem (no import of collect needed)
    if attach_record is not None:
        attach_record(report)  # the record travels with the report, to the xdist controller too
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    state = get_session(config)
    if not state.suites_collected and not state.tally.outcomes:  # the xdist controller collects nothing
        return
    from .report.terminal import write_summary

    write_summary(terminalreporter, state)


@pytest.hookimpl(trylast=True)  # after the records, the gate and the exports are done
def pytest_sessionfinish(session: pytest.Session) -> None:
    if SESSION_KEY in session.config.stash and get_session(session.config).suites_collected:
        from .lifetime import freeze_survivors

        freeze_survivors(session.config)  # reports and records too: the interpreter's exit need not walk them


def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION_KEY in config.stash:
        config.stash[SESSION_KEY].close()
