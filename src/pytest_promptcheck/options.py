"""Every ``--pc-*`` option: its flag, its ini key, its validation, and the listeners it registers.

One place for each concern, in the order pytest uses them: :func:`add_options` (``pytest_addoption``),
:func:`project_config` (``pytest_configure``: flags and ini keys into a :class:`~.config.ProjectConfig`,
every bad value or combination a ``pytest.UsageError`` saying what to do), :func:`register_listeners`
(the report-fed plugins each flag turns on, like xdist's ``DSession``: only where reports gather).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from . import config_values as check
from .config import CliOptions, ProjectConfig, load_project_config
from .errors import ConfigError, MissingDependencyError
from .outputs.export import FORMATS, SIDES
from .session import PromptSession

if TYPE_CHECKING:
    from .listeners.run_end import RunEnd
    from .listeners.run_recorder import RunRecorder

INI_KEYS = ("files", "models", "baseline", "candidate", "concurrency", "timeout", "seed", "cache", "runs")
RUN_END_KEY: pytest.StashKey[RunEnd] = pytest.StashKey()


def add_options(parser: pytest.Parser) -> None:
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
    group.addoption("--pc-concurrency", type=_count("--pc-concurrency"), metavar="N",
                    help="in-flight calls per model (overrides config)")  # fmt: skip
    group.addoption("--pc-repeat", type=_count("--pc-repeat"), metavar="N",
                    help="samples per call for every case (overrides `repeat`)")  # fmt: skip
    group.addoption("--pc-timeout", type=check.option_type("--pc-timeout", check.seconds), metavar="S",
                    help="seconds per model call (overrides config and cases)")  # fmt: skip
    group.addoption("--pc-seed", type=check.option_type("--pc-seed", check.whole), metavar="N",
                    help="base seed; each call's seed derives from it")  # fmt: skip
    group.addoption("--pc-dry-run", action="store_true", help="list the calls and their estimated cost; call nothing")
    # -- comparison and gate (runs/compare.py, runs/gate.py, runs/metrics.py) ------------------
    group.addoption("--pc-gate", action="store_true", help="the baseline-vs-candidate gate decides the exit status")
    group.addoption(
        "--pc-report", action="append", default=[], metavar="FORMAT:PATH", dest="pc_reports",
        help="write a report: json:PATH, html:PATH or md:PATH (repeatable)",
    )  # fmt: skip
    # -- records, cache, record/replay, export (runs/, stores/, outputs/export.py) ---------------
    group.addoption("--pc-no-cache", action="store_true", help="neither read nor write the response cache")
    group.addoption("--pc-record", action="store_true", help="record model answers to <suite dir>/cassettes/")
    group.addoption("--pc-replay", action="store_true", help="answer from cassettes only: no network, no keys")
    group.addoption("--pc-export", metavar="PATH", help="write failing cases as fine-tuning data (JSONL)")
    group.addoption(
        "--pc-export-format", default="openai-chat", metavar="FORMAT", choices=list(FORMATS),
        help="openai-chat (default), openai-dpo, bedrock-claude, trl-sft, trl-dpo",
    )  # fmt: skip
    group.addoption(
        "--pc-export-side", choices=list(SIDES), metavar="SIDE",
        help="whose failures to export: candidate (default when one is configured), baseline, all",
    )  # fmt: skip
    group.addoption(
        "--pc-export-split", type=float, metavar="FRACTION",
        help="train share of the export; the rest goes to <stem>.val.jsonl (seeded by `seed`)",
    )  # fmt: skip
    group.addoption("--pc-update", action="store_true", help="rewrite changed snapshots and remove unused ones")
    # -- batch APIs (calls/batch.py, items/batching.py) ---------------------------------------------
    group.addoption("--pc-batch", action="store_true",
                    help="send openai/anthropic calls through their batch APIs (half price, slower)")  # fmt: skip
    group.addoption("--pc-batch-submit-only", action="store_true",
                    help="submit the batches and end (their items skipped); a later run collects")  # fmt: skip
    # -- experiment tracking (listeners/mlflow_tracker.py, outputs/tracking.py) ----------------
    group.addoption("--pc-mlflow", action="store_true", help="log the run to MLflow (the [mlflow] extra)")
    group.addoption("--pc-mlflow-uri", metavar="URI",
                    help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, then `mlflow_tracking_uri`)")  # fmt: skip
    group.addoption("--pc-mlflow-experiment", metavar="NAME",
                    help="MLflow experiment (default: MLFLOW_EXPERIMENT_NAME, `mlflow_experiment`, promptcheck)")  # fmt: skip
    # `promptcheck lint` sets it (with --noconftest): collect without importing the user's Python.
    group.addoption("--pc-lint", action="store_true", help=argparse.SUPPRESS)
    for key in INI_KEYS:
        help_text = f"pytest-promptcheck: `{key}` (when not set in [tool.promptcheck])"
        if key in ("files", "models"):
            parser.addini(f"promptcheck_{key}", help_text, type="linelist")
        else:
            parser.addini(f"promptcheck_{key}", help_text, type="string")


def _count(flag: str) -> Callable[[str], int]:
    return check.option_type(flag, lambda raw, where: check.whole(raw, where, least=1))


def project_config(config: pytest.Config) -> ProjectConfig:
    """The project's configuration with the command line applied; every bad option is a usage error."""
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
    ini = {key: config.getini(f"promptcheck_{key}") for key in INI_KEYS}
    try:
        project = load_project_config(config.rootpath, config.inipath, ini, cli, cwd=Path(config.invocation_params.dir))
    except ConfigError as exc:
        raise pytest.UsageError(f"pytest-promptcheck: {exc}") from None
    if cli.repeat is not None and cli.repeat > project.limits.repeat:
        raise pytest.UsageError(
            f"--pc-repeat {cli.repeat} is more than {project.limits.repeat} samples (limits.repeat); "
            "pass a smaller N or raise [tool.promptcheck.limits] repeat"
        )
    _check_stores(config)
    _check_gate(config, project)
    _check_mlflow(config)
    _check_batch(config, project)
    return project


def _check_batch(config: pytest.Config, project: ProjectConfig) -> None:
    """Batch mode under pytest-xdist is a usage error (items/batching.py says why)."""
    option = config.option
    if option.pc_replay or project.dry_run or is_xdist_worker(config) or not getattr(option, "numprocesses", None):
        return
    from .items.batching import XDIST_REASON, batch_on

    selected = project.selected_models
    configured = sorted(m.name for m in project.models.values() if m.batch and (selected is None or m.name in selected))
    if batch_on(config):
        raise pytest.UsageError(f"--pc-batch with -n: {XDIST_REASON}, or drop --pc-batch")
    if configured:
        raise pytest.UsageError(
            f"model {configured[0]!r} has `batch = true`, and with -n: {XDIST_REASON}, or set `batch = false`"
        )


def _check_stores(config: pytest.Config) -> None:
    option = config.option
    if option.pc_record and option.pc_replay:
        raise pytest.UsageError("--pc-record and --pc-replay exclude each other: record once, then replay")
    if option.pc_export_split is not None and not 0 < option.pc_export_split <= 1:
        raise pytest.UsageError(f"--pc-export-split is the train share, between 0 and 1 (got {option.pc_export_split})")
    if option.pc_export_split is not None and not option.pc_export:
        raise pytest.UsageError("--pc-export-split needs --pc-export PATH (where the training file goes)")


def _check_gate(config: pytest.Config, project: ProjectConfig) -> None:
    if not config.option.pc_gate:
        return
    if not (project.baseline and project.candidate):
        raise pytest.UsageError(
            "--pc-gate needs a baseline and a candidate: set `baseline` and `candidate` in [tool.promptcheck] "
            "or pass --pc-baseline NAME --pc-candidate NAME"
        )
    selected = project.selected_models  # --pc-models must not leave a side out (the gate would compare nothing)
    missing = [m for m in (project.baseline, project.candidate) if selected is not None and m not in selected]
    if missing:
        raise pytest.UsageError(
            f"--pc-gate compares {project.baseline!r} with {project.candidate!r}, but --pc-models leaves out "
            f"{', '.join(map(repr, missing))}; add it to --pc-models or drop --pc-gate"
        )


def _check_mlflow(config: pytest.Config) -> None:
    option = config.option
    if not option.pc_mlflow:
        for flag, value in (
            ("--pc-mlflow-uri", option.pc_mlflow_uri),
            ("--pc-mlflow-experiment", option.pc_mlflow_experiment),
        ):
            if value is not None:
                raise pytest.UsageError(f"{flag} applies to --pc-mlflow only: add --pc-mlflow to log the run")
        return
    from .listeners.mlflow_tracker import require_mlflow

    try:
        require_mlflow()
    except MissingDependencyError as exc:
        raise pytest.UsageError(f"pytest-promptcheck: {exc}") from None


def mlflow_target(config: pytest.Config, project: ProjectConfig) -> tuple[str | None, str]:
    """Where ``--pc-mlflow`` logs: (tracking URI, experiment name).

    The URI: ``--pc-mlflow-uri`` > ``MLFLOW_TRACKING_URI`` > ``[tool.promptcheck] mlflow_tracking_uri`` >
    MLflow's own default (None here). The experiment: ``--pc-mlflow-experiment`` > ``MLFLOW_EXPERIMENT_NAME``
    > ``mlflow_experiment`` > ``"promptcheck"``. The environment beats the file so a CI job can point a
    project at the team's server without editing it.
    """
    option = config.option
    uri = option.pc_mlflow_uri or os.environ.get("MLFLOW_TRACKING_URI") or project.mlflow_tracking_uri
    experiment = option.pc_mlflow_experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or project.mlflow_experiment
    return uri, experiment or "promptcheck"


def is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def register_listeners(config: pytest.Config, state: PromptSession) -> None:
    """The report-fed plugins. Writers live on the controller (or the only process): under pytest-xdist
    the workers send their reports there, so one run gives one summary, record, set of cassettes and export."""
    from . import bundled
    from .listeners.call_stores import CALL_STORES_KEY, CallStorage

    config.pluginmanager.register(bundled, "promptcheck-bundled")
    config.pluginmanager.register(state.tally, "promptcheck-tally")
    config.stash[CALL_STORES_KEY] = CallStorage(config, state)
    if config.option.pc_update:
        from .listeners.snapshot_update import UpdateMode

        config.pluginmanager.register(UpdateMode(), "promptcheck-snapshot-update-mode")  # workers judge too
    if not is_xdist_worker(config):
        _register_controller(config, state)


def _register_controller(config: pytest.Config, state: PromptSession) -> None:
    from .listeners.aggregator import RunAggregator
    from .listeners.run_end import RunEnd
    from .listeners.snapshot_update import SnapshotUpdater
    from .outputs.reports import parse_reports

    option, project = config.option, state.project
    cwd = Path(config.invocation_params.dir)
    reports = tuple(parse_reports(option.pc_reports, cwd))
    end = RunEnd(RunAggregator(config, project, bool(option.pc_gate), reports), SnapshotUpdater(config))
    if not project.dry_run:
        end.recorder = _recorder(config, state)
        if option.pc_record:
            from .listeners.cassette_writer import CassetteWriter

            end.cassettes = CassetteWriter(config, state.redactor)
        if option.pc_export:
            from .listeners.exporter import FailureExporter
            from .outputs.export import ExportOptions

            options = ExportOptions(option.pc_export_format, option.pc_export_side, option.pc_export_split)
            end.exporter = FailureExporter(cwd / option.pc_export, options, cwd, state.redactor)
        if option.pc_mlflow:
            from .listeners.mlflow_tracker import MlflowTracker

            end.tracker = MlflowTracker(*mlflow_target(config, project), project, state.redactor)
    for name, listener in (("aggregator", end.aggregator), ("snapshots", end.snapshots), ("records", end.recorder),
                           ("cassettes", end.cassettes)):  # fmt: skip
        if listener is not None:
            config.pluginmanager.register(listener, f"promptcheck-{name}")
    config.pluginmanager.register(end, "promptcheck-run-end")
    config.stash[RUN_END_KEY] = end


def _recorder(config: pytest.Config, state: PromptSession) -> RunRecorder:
    from .listeners.run_recorder import RunRecorder
    from .runs.manifest import RunMode
    from .stores.response_cache import cache_path

    option, project = config.option, state.project
    cache = cache_path(project.root, project.cache) is not None and not option.pc_no_cache and not option.pc_replay
    mode = RunMode(cache, bool(option.pc_record), bool(option.pc_replay), getattr(option, "numprocesses", None))
    return RunRecorder(config, project, state.redactor, mode)


def run_end(config: pytest.Config) -> RunEnd | None:
    return config.stash.get(RUN_END_KEY, None)
