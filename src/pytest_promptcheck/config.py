"""Project configuration: ``[tool.promptcheck]``, ``promptcheck_*`` ini keys and ``--pc-*`` options.

Precedence, highest first: command line > the case > the suite's ``defaults`` > the config file.
``effective_call_settings`` is the one place that applies it to a model call.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import config_values as check
from .analysis_config import AnalysisConfig, parse_analysis
from .config_models import ModelConfig, check_model_refs, models_from_table, parse_model_spec
from .errors import ConfigError
from .outputs.export_choices import ExportChoices
from .runs.prompt_cost import PromptCostConfig
from .suites.limits import SuiteLimits, SuitePolicy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILES = ("test_*.prompts.yaml", "test_*.prompts.yml")
_TOP_KEYS = {
    "files", "models", "baseline", "candidate", "concurrency", "timeout", "seed", "cache", "runs",
    "redact", "gate", "model", "repeat", "judge", "embedding_model", "retries", "judge_retries",
    "allow_paths", "limits", "endpoints", "mlflow_tracking_uri", "mlflow_experiment", "batch_poll_s",
    "export", "prompt_cost", "analysis",
}  # fmt: skip
_GATE_KEYS = ("alpha", "margin", "on_inconclusive", "variants", "mid_p", "confirm", "max_attempts")


@dataclass(frozen=True)
class GateConfig:
    """``[tool.promptcheck.gate]``; the rules are in ``runs/gate.py`` and the README's "The gate"."""

    alpha: float = 0.05
    margin: float = 0.0
    on_inconclusive: str = "fail"
    variants: str = "pooled"  # several prompt variants: one case-level test ("pooled") or Holm per variant
    mid_p: bool = False  # Lancaster's mid-p for the exact tests (less conservative; alpha no longer guaranteed)
    confirm: int = 3  # re-samples per side of a regressed critical case whose outputs are sampled (0: off)
    max_attempts: int = 0  # gated runs allowed against one baseline on the same suites (0: report only)


@dataclass(frozen=True)
class ProjectConfig:
    """Everything from the config file and the command line that applies to the whole session."""

    root: Path
    files: tuple[str, ...] = DEFAULT_FILES
    models: dict[str, ModelConfig] = field(default_factory=dict)
    default_models: tuple[str, ...] | None = None
    selected_models: tuple[str, ...] | None = None  # --pc-models
    baseline: str | None = None
    candidate: str | None = None
    concurrency: int = 32
    cli_concurrency: int | None = None  # --pc-concurrency: beats every model's own setting
    retries: int = 4  # retries per call on 429/5xx/timeouts/connection errors (attempts = retries + 1)
    timeout: float = 60.0
    cli_timeout: float | None = None  # --pc-timeout: beats every case and model timeout
    seed: int = 0
    repeat: int | None = None  # --pc-repeat: overrides every case's repeat count
    cache: str | None = ".promptcheck/cache.db"
    runs: str = ".promptcheck/runs"
    redact: tuple[str, ...] = ()
    gate: GateConfig = GateConfig()
    judge: str | None = None  # model name that grades `judge`/`rubric` assertions by default
    judge_retries: int = 1  # times a judge whose answer cannot be read is asked again
    embedding_model: str | None = None  # local embedding model folder for `similar` (absolute)
    endpoints: dict[str, int] = field(default_factory=dict)  # normalised base URL -> calls in flight, all models
    allow_paths: tuple[Path, ...] = ()  # extra folders a suite may read files from (resolved)
    limits: SuiteLimits = field(default_factory=SuiteLimits)
    dry_run: bool = False
    source: str = "defaults"
    mlflow_tracking_uri: str | None = None  # --pc-mlflow: where the run is logged (options.py has the precedence)
    mlflow_experiment: str | None = None
    batch_poll_s: float = 30.0  # seconds between two looks at a submitted batch (calls/batch.py)
    export: ExportChoices = field(default_factory=ExportChoices)  # [tool.promptcheck.export]; --pc-export-* options win
    prompt_cost: PromptCostConfig = field(default_factory=PromptCostConfig)  # [tool.promptcheck.prompt_cost]
    analysis: AnalysisConfig = field(
        default_factory=AnalysisConfig
    )  # [tool.promptcheck.analysis]: failure analysis, data plan

    def suite_policy(self, rootdir: Path) -> SuitePolicy:
        """Where suites may read files (pytest's rootdir, then ``allow_paths``) and their limits."""
        return SuitePolicy.for_root(rootdir, self.allow_paths, self.limits)

    def side_of(self, model: str) -> str | None:
        """``"baseline"``, ``"candidate"`` or None: the model's side in comparisons."""
        if model == self.baseline:
            return "baseline"
        if model == self.candidate:
            return "candidate"
        return None

    def models_for(self, case_models: tuple[str, ...] | None) -> tuple[str, ...]:
        """The models a case runs on.

        --pc-models replaces the config's default list (the command line wins) but is intersected with
        a case's own ``models`` (a case never runs on a model it excludes).
        """
        if self.selected_models is not None:
            if case_models is None:
                return self.selected_models
            return tuple(n for n in case_models if n in self.selected_models)
        return case_models or self.default_models or tuple(self.models)


@dataclass(frozen=True)
class CallSettings:
    """What one model call is made with, after precedence is applied."""

    params: dict[str, Any]
    timeout: float
    repeat: int


def effective_call_settings(
    project: ProjectConfig, model: ModelConfig, case_params: Mapping[str, Any], case_repeat: int
) -> CallSettings:
    """Apply the precedence rule: CLI > the case > the suite's ``defaults`` > the config file.

    ``case_params`` already holds the suite defaults merged under the case's own params (the loader
    merges them key by key), so this only layers config < case < command line.
    """
    params = {**model.params, **case_params}
    timeout = float(params.pop("timeout", model.timeout or project.timeout))
    if project.cli_timeout is not None:
        timeout = project.cli_timeout
    repeat = project.repeat if project.repeat is not None else case_repeat
    return CallSettings(params=params, timeout=timeout, repeat=repeat)


@dataclass(frozen=True)
class CliOptions:
    """The ``--pc-*`` values that shape the configuration (collected by the plugin from pytest's options)."""

    models: str | None = None
    model_specs: tuple[str, ...] = ()
    baseline: str | None = None
    candidate: str | None = None
    concurrency: int | None = None
    repeat: int | None = None
    timeout: float | None = None
    seed: int | None = None
    dry_run: bool = False


def find_pyproject(rootpath: Path, inipath: Path | None) -> Path | None:
    """The pyproject.toml that holds ``[tool.promptcheck]``: pytest's inifile when it is one, else rootdir's."""
    if inipath is not None and inipath.name == "pyproject.toml":
        return inipath
    candidate = rootpath / "pyproject.toml"
    return candidate if candidate.is_file() else None


def load_project_config(
    rootpath: Path, inipath: Path | None, ini: Mapping[str, Any], cli: CliOptions, *, cwd: Path | None = None
) -> ProjectConfig:
    """Read ``[tool.promptcheck]`` (and ``promptcheck_*`` ini keys), then apply the command line."""
    pyproject = find_pyproject(rootpath, inipath)
    table: dict[str, Any] = {}
    root = rootpath
    source = "defaults"
    if pyproject is not None:
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{pyproject}: cannot read [tool.promptcheck]: {exc}") from None
        table = data.get("tool", {}).get("promptcheck", {})
        root = pyproject.parent
        source = f"{pyproject} [tool.promptcheck]"
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.promptcheck] must be a table, got {table!r}")
    from_ini = set()
    for key, value in ini.items():  # ini keys fill what the pyproject table leaves unset
        if value not in (None, "", []) and key not in table:
            table[key] = value
            from_ini.add(key)
    unknown = set(table) - _TOP_KEYS
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {', '.join(sorted(map(repr, unknown)))}; valid keys: {', '.join(sorted(_TOP_KEYS))}"
        )
    at = _Where(str(pyproject), str(inipath) if inipath else "", frozenset(from_ini)).key
    names = {k: check.text(table[k], at(k), what="a model name") if k in table else None
             for k in ("baseline", "candidate", "judge")}  # fmt: skip
    project = ProjectConfig(
        root=root,
        files=tuple(_str_list(table.get("files", DEFAULT_FILES), at("files"), nonempty=True)),
        models=models_from_table(table.get("model", {}), root, source, str(pyproject)),
        default_models=tuple(_str_list(table["models"], at("models"))) if "models" in table else None,
        baseline=names["baseline"],
        candidate=names["candidate"],
        concurrency=check.whole(table.get("concurrency", 32), at("concurrency"), least=1),
        timeout=check.seconds(table.get("timeout", 60), at("timeout")),
        seed=check.whole(table.get("seed", 0), at("seed")),
        retries=check.whole(table.get("retries", 4), at("retries"), least=0),
        repeat=None,
        cache=_cache(table.get("cache", ".promptcheck/cache.db"), at("cache")),
        runs=check.text(table.get("runs", ".promptcheck/runs"), at("runs"), what="a folder path (a string)"),
        redact=_redact(table.get("redact", []), at("redact")),
        gate=_gate(table.get("gate", {}), source, str(pyproject)),
        judge=names["judge"],
        judge_retries=check.whole(table.get("judge_retries", 1), at("judge_retries"), least=0),
        embedding_model=_embedding_model(table.get("embedding_model"), root, at("embedding_model")),
        endpoints=_endpoints(table.get("endpoints", {}), source),
        allow_paths=tuple((root / p).resolve() for p in _str_list(table.get("allow_paths", []), at("allow_paths"))),
        limits=SuiteLimits.from_table(table.get("limits", {}), source),
        source=source,
        mlflow_tracking_uri=check.text(table["mlflow_tracking_uri"], at("mlflow_tracking_uri"))
        if "mlflow_tracking_uri" in table
        else None,
        mlflow_experiment=check.text(table["mlflow_experiment"], at("mlflow_experiment"))
        if "mlflow_experiment" in table
        else None,
        batch_poll_s=check.seconds(table.get("batch_poll_s", 30), at("batch_poll_s")),
        export=ExportChoices.from_table(table.get("export", {}), str(pyproject)),
        prompt_cost=PromptCostConfig.from_table(table.get("prompt_cost", {}), str(pyproject)),
        analysis=parse_analysis(table.get("analysis", {}), str(pyproject)),
    )
    if "repeat" in table:  # accepted for old configs; cases set their own `repeat`
        check.whole(table["repeat"], at("repeat"), least=1)
    return apply_cli(project, cli, cwd=cwd or Path.cwd())


@dataclass(frozen=True)
class _Where:
    """Names a value by where it was written: the file and key path, or the ini file and ``promptcheck_*`` key."""

    file: str
    ini_file: str
    from_ini: frozenset[str] = frozenset()

    def key(self, key: str) -> str:
        if key in self.from_ini:  # no ini file: the value came from `-o promptcheck_KEY=...`
            return f"{self.ini_file}: promptcheck_{key}" if self.ini_file else f"-o promptcheck_{key}"
        return f"{self.file}: [tool.promptcheck] {key}"


def _cache(value: Any, where: str) -> str | None:
    """A path string, or ``"off"`` / false for no cache."""
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return None
    return check.text(value, where, what='a path string, or "off" (or false) for no cache')


def _redact(value: Any, where: str) -> tuple[str, ...]:
    from .outputs.redact import check_patterns

    patterns = tuple(_str_list(value, where))
    try:
        check_patterns(patterns, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return patterns


def _embedding_model(value: Any, root: Path, where: str) -> str | None:
    if value is None or value == "":
        return None
    return str((root / check.text(value, where, what="a folder path (a string)")).resolve())


def apply_cli(project: ProjectConfig, cli: CliOptions, *, cwd: Path) -> ProjectConfig:
    """Layer the command line over the file configuration; unknown model names are usage errors."""
    models = dict(project.models)
    default_models = project.default_models
    for spec in cli.model_specs:
        name, model = parse_model_spec(spec, existing=models, cwd=cwd)
        check_model_refs(model, f"--pc-model {spec!r}")
        if name not in models and default_models is not None:
            default_models = (*default_models, name)  # a model defined on the command line is meant to run
        models[name] = model
    selected = None
    if cli.models:
        selected = tuple(m.strip() for m in cli.models.split(",") if m.strip())
    project = replace(
        project,
        models=models,
        default_models=default_models,
        selected_models=selected,
        baseline=cli.baseline or project.baseline,
        candidate=cli.candidate or project.candidate,
        cli_concurrency=cli.concurrency,
        repeat=cli.repeat,
        cli_timeout=cli.timeout,
        seed=project.seed if cli.seed is None else cli.seed,
        dry_run=cli.dry_run,
    )
    check_model_names(project)
    return project


def check_model_names(project: ProjectConfig) -> None:
    """Every model named by the configuration or command line must be defined."""
    known = project.models
    named: list[tuple[str, str | None]] = [("--pc-models / models", n) for n in project.selected_models or ()]
    named += [("models", n) for n in project.default_models or ()]
    named += [("--pc-baseline / baseline", project.baseline), ("--pc-candidate / candidate", project.candidate)]
    named += [("judge", project.judge)]
    for where, name in named:
        if name is not None and name not in known:
            choices = ", ".join(sorted(known)) or "none defined"
            raise ConfigError(
                f"{where}: unknown model {name!r} (defined: {choices}); define it under "
                f"[tool.promptcheck.model.{name}] or with --pc-model {name}=PROVIDER:TARGET"
            )
    if project.baseline and project.baseline == project.candidate:
        raise ConfigError(f"baseline and candidate are both {project.baseline!r}; choose two different models")


def _gate(table: Any, source: str, file: str) -> GateConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.promptcheck.gate] must be a table, got {table!r}")
    unknown = set(table) - set(_GATE_KEYS)
    if unknown:
        raise ConfigError(
            f"{source} gate: unknown key {', '.join(sorted(map(repr, unknown)))}; valid: {', '.join(_GATE_KEYS)}"
        )
    at = f"{file}: [tool.promptcheck.gate]"
    choices = {"on_inconclusive": ("fail", "pass"), "variants": ("pooled", "holm")}
    for key, valid in choices.items():
        if key in table and table[key] not in valid:
            raise check.fail(f"{at} {key}", " or ".join(map(repr, valid)), table[key])
    if not isinstance(table.get("mid_p", False), bool):
        raise check.fail(f"{at} mid_p", "true or false", table["mid_p"])
    return GateConfig(
        alpha=check.number(table.get("alpha", 0.05), f"{at} alpha", above=0, below=1),
        margin=check.number(table.get("margin", 0.0), f"{at} margin", least=0),
        on_inconclusive=table.get("on_inconclusive", "fail"),
        variants=table.get("variants", "pooled"),
        mid_p=table.get("mid_p", False),
        confirm=check.whole(table.get("confirm", 3), f"{at} confirm (0 turns it off)", least=0),
        max_attempts=check.whole(table.get("max_attempts", 0), f"{at} max_attempts (0: report only)", least=0),
    )


def endpoint_key(url: str) -> str:
    """A base URL as ``[tool.promptcheck.endpoints]`` matches it: scheme and host lower-cased, no trailing slash."""
    scheme, _, rest = url.strip().partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/") if rest else url.strip().rstrip("/")


def _endpoints(table: Any, source: str) -> dict[str, int]:
    """``[tool.promptcheck.endpoints."URL"] concurrency = N``: one cap for all models served by one server."""
    if not isinstance(table, dict):
        raise ConfigError(f'{source}: `endpoints` must be a table of [tool.promptcheck.endpoints."URL"] tables')
    caps = {}
    for url, spec in table.items():
        where = f'{source} endpoints."{url}"'
        if not isinstance(spec, dict) or set(spec) != {"concurrency"}:
            raise ConfigError(
                f"{where}: write `concurrency = N` (the calls in flight to that server, all models together)"
            )
        caps[endpoint_key(url)] = check.whole(spec["concurrency"], f"{where}: concurrency", least=1)
    return caps


def _str_list(value: Any, where: str, *, nonempty: bool = False) -> list[str]:
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,]+", value) if v]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value) or (nonempty and not value):
        raise check.fail(where, "a non-empty list of strings" if nonempty else "a list of strings", value)
    return list(value)
