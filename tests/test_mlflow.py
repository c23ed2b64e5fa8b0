"""--pc-mlflow: a run logged to a real local MLflow tracking store (SQLite or file), read back with MLflow's client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from conftest import PromptProject, make_pyproject
from pytest_promptcheck import write_lineage

# No network: MLflow 3 reports usage to its servers unless told not to (read when it would send).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
mlflow = pytest.importorskip("mlflow")  # the [mlflow] extra (in [dev])

SECRET = "sk-live0123456789abcdefXYZ"

# `base` and `tuned` both echo the prompt: each passes `refund` and fails `leak`, whose output holds a key.
SUITE = """
prompts: {p: "{{ reply }}"}
cases:
  - id: refund
    tags: [billing]
    vars: {reply: "refund"}
    assert: [{equals: refund}]
  - id: leak
    tags: [security]
    vars: {reply: "key SECRET"}
    ideal: none
    assert: [{equals: none}]
""".replace("SECRET", SECRET)

APP = """
def tuned(messages, params):
    return messages[-1]["content"]
"""


@pytest.fixture(autouse=True)
def _no_tracking_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)


def two_models(pytester: pytest.Pytester, project: PromptProject, extra: str = "") -> None:
    pytester.makepyfile(tuned_app=APP)
    project.config({"base": "app:echo", "tuned": "tuned_app:tuned"}, 'baseline = "base"\ncandidate = "tuned"\n' + extra)
    project.suite(body=SUITE)


def only_run(uri: str, experiment: str = "promptcheck") -> mlflow.entities.Run:
    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    (run,) = client.search_runs([found.experiment_id])
    return client.get_run(run.info.run_id)


def test_a_run_is_logged_to_sqlite_and_read_back(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Params, metrics per model and tag, the gate verdict, lineage tags and the artifacts reach MLflow's store."""
    two_models(pytester, project)
    ckpt = pytester.path / "ckpt"
    base = pytester.mkdir("base")
    (base / "config.json").write_text("{}")
    written = write_lineage(ckpt, base_model=base, parameters={"lr": 0.001, "steps": 5}, seed=7)
    with open(pytester.path / "pyproject.toml", "a") as fh:  # the candidate is served from a checkpoint folder
        fh.write(f'\npath = "{ckpt.as_posix()}"\n')
    uri = f"sqlite:///{(pytester.path / 'mlflow.db').as_posix()}"
    result = pytester.runpytest(
        "-p", "no:randomly", "--pc-mlflow", "--pc-mlflow-uri", uri, "--pc-report", "json:report.json",
        "--pc-export", "ft.jsonl", "--pc-export-side", "all",
    )  # fmt: skip
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([f"promptcheck mlflow: run * in experiment 'promptcheck' ({uri})"])
    run = only_run(uri)
    run_folder = sorted((pytester.path / ".promptcheck" / "runs").iterdir())[-1]
    assert run.info.run_name == run_folder.name and run.info.status == "FINISHED"
    metrics, params, tags = run.data.metrics, run.data.params, run.data.tags
    assert metrics["model/base/pass_rate"] == 0.5 and metrics["model/tuned/judged"] == 2
    assert metrics["model/base/pass_rate_low"] < 0.5 < metrics["model/base/pass_rate_high"]
    assert metrics["tag/billing/tuned/pass_rate"] == 1.0 and metrics["tag/security/base/pass_rate"] == 0.0
    assert "model/tuned/latency_p95_ms" in metrics and "model/tuned/consistency" not in metrics  # no repeats
    assert (metrics["gate/pass"], tags["promptcheck.gate.verdict"], tags["promptcheck.exit_status"]) == (
        1.0,
        "pass",
        "1",
    )
    assert metrics["gate/delta_low"] < 0 < metrics["gate/delta_high"]
    assert (params["models"], params["baseline"], params["candidate"], params["seed"]) == (
        "base,tuned",
        "base",
        "tuned",
        "0",
    )
    assert params["gate/alpha"] == "0.05" and params["model/tuned/provider"] == "python"
    assert params["suites"] == "test_suite.prompts.yaml"
    assert tags["promptcheck.run_id"] == run_folder.name and tags["promptcheck.candidate"] == "tuned"
    assert tags["promptcheck.lineage.id"] == written.lineage_id
    assert tags["promptcheck.lineage.base_model_sha256"] == written.base_model["sha256"]
    assert (tags["promptcheck.training.lr"], tags["promptcheck.training.steps"]) == ("0.001", "5")
    client = mlflow.MlflowClient(uri)
    listed = {f.path for folder in ("run", "reports", "export") for f in client.list_artifacts(run.info.run_id, folder)}
    assert {"run/manifest.json", "reports/report.json", "export/ft.jsonl", "export/ft.manifest.json"} <= listed
    downloaded = Path(client.download_artifacts(run.info.run_id, "", str(pytester.path / "dl")))
    assert all(SECRET not in f.read_text() for f in downloaded.rglob("*") if f.is_file())  # scrubbed on disk already
    manifest = json.loads((downloaded / "run" / "manifest.json").read_text())
    assert manifest["run_id"] == run_folder.name


def test_a_secret_never_reaches_the_store(
    pytester: pytest.Pytester, project: PromptProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret in an output, a model's params and a case tag is scrubbed from params, tags and metric keys (file store)."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the file backend is in maintenance mode in MLflow 3
    two_models(pytester, project)
    with open(pytester.path / "pyproject.toml", "a") as fh:
        fh.write(f'\nparams = {{note = "{SECRET}"}}\n')
    pytester.makefile(
        ".prompts.yaml",
        test_tagged=f'prompts: {{p: "x"}}\ncases: [{{id: t, tags: ["{SECRET}"], assert: [{{equals: x}}]}}]\n',
    )
    uri = (pytester.path / "mlruns").as_uri()
    pytester.runpytest("-p", "no:randomly", "--pc-mlflow", "--pc-mlflow-uri", uri).assert_outcomes(passed=4, failed=2)
    run = only_run(uri)
    everything = json.dumps([run.data.params, run.data.tags, sorted(run.data.metrics)])
    assert SECRET not in everything
    assert "REDACTED" in run.data.params["model/tuned/params"]
    assert any(k.startswith("tag/_REDACTED_/") for k in run.data.metrics)


def test_an_unusable_store_is_one_warning_not_a_failed_run(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A tracking URI MLflow cannot open warns once; the run's outcome and exit status stand."""
    project.suite(body='prompts: {p: "hi"}\ncases: [{id: a, assert: [{equals: hi}]}]\n')
    result = pytester.runpytest("--pc-mlflow", "--pc-mlflow-uri", "nosuchscheme://tracking", "-W", "default")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["*TrackingWarning: promptcheck: cannot log the run to MLflow*; the run goes on without it"]
    )
    assert "Traceback" not in result.stdout.str()


def test_the_experiment_and_uri_come_from_config_and_env(
    pytester: pytest.Pytester, project: PromptProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mlflow_tracking_uri` / `mlflow_experiment` in [tool.promptcheck]; MLFLOW_EXPERIMENT_NAME beats the file."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (pytester.path / "store").as_uri()
    pytester.makepyprojecttoml(
        make_pyproject({"echo": "app:echo"}, f'mlflow_tracking_uri = "{uri}"\nmlflow_experiment = "from-file"')
    )
    project.suite(body='prompts: {p: "hi"}\ncases: [{id: a, assert: [{equals: hi}]}]\n')
    pytester.runpytest("--pc-mlflow").assert_outcomes(passed=1)
    assert only_run(uri, "from-file").data.params["models"] == "echo"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    pytester.runpytest("--pc-mlflow").assert_outcomes(passed=1)
    assert only_run(uri, "from-env").data.tags["promptcheck.candidate"] == "echo"  # the only model ran


def test_mlflow_options_without_the_flag_and_a_missing_extra(
    pytester: pytest.Pytester, project: PromptProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--pc-mlflow-uri alone is a usage error; without MLflow installed --pc-mlflow names the extra."""
    project.suite(body='prompts: {p: "hi"}\ncases: [{id: a, assert: [{equals: hi}]}]\n')
    result = pytester.runpytest("--pc-mlflow-uri", "sqlite:///x.db")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--pc-mlflow-uri applies to --pc-mlflow only: add --pc-mlflow*"])
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if the extra were not installed (in-process run)
    result = pytester.runpytest("--pc-mlflow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--pc-mlflow requires optional dependencies. Install with: pip install 'pytest-promptcheck?mlflow?'"]
    )
    assert not (pytester.path / ".promptcheck").exists()


def test_xdist_logs_one_run_from_the_controller(
    pytester: pytest.Pytester, project: PromptProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With -n 2 the workers log nothing: one MLflow run holds every item's numbers."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    two_models(pytester, project)
    uri = (pytester.path / "mlruns").as_uri()
    pytester.runpytest_subprocess("-n", "2", "--pc-mlflow", "--pc-mlflow-uri", uri).assert_outcomes(passed=2, failed=2)
    metrics = only_run(uri).data.metrics  # only_run: exactly one run
    assert (metrics["model/base/judged"], metrics["model/tuned/judged"]) == (2, 2)
