"""The cloud models' keys (azure-openai, bedrock) in [tool.promptcheck.model.NAME]: read, checked, linted."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from provider_project import ONE_CASE
from pytest_promptcheck.config import CliOptions, load_project_config
from pytest_promptcheck.errors import ConfigError
from pytest_promptcheck.outputs.redact import redactor_for

AZURE = """
[tool.promptcheck]
models = ["az", "br"]

[tool.promptcheck.model.az]
provider = "azure-openai"
endpoint = "https://my-resource.openai.azure.com"
deployment = "chat"
api_version = "2024-10-21"
azure_ad_token_env = "PC_BADGE"

[tool.promptcheck.model.br]
provider = "bedrock"
model = "anthropic.claude-3-5-haiku-20241022-v1:0"
region = "eu-central-1"
profile = "team"
endpoint_url = "${BEDROCK_URL:-https://bedrock-runtime.eu-central-1.amazonaws.com}"
"""


def _load(tmp_path: Path, text: str) -> object:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_project_config(tmp_path, tmp_path / "pyproject.toml", {}, CliOptions(), cwd=tmp_path)


def test_cloud_keys_are_kept_in_the_models_options(tmp_path: Path) -> None:
    """The keys land in `options` (so the cache key covers them); ${ENV} stays as written until the provider fills it."""
    project = _load(tmp_path, AZURE)
    az, br = project.models["az"], project.models["br"]  # type: ignore[attr-defined]
    assert az.options == {"endpoint": "https://my-resource.openai.azure.com", "deployment": "chat",
                          "api_version": "2024-10-21", "azure_ad_token_env": "PC_BADGE"}  # fmt: skip
    assert br.options["region"] == "eu-central-1" and br.options["profile"] == "team"
    assert br.options["endpoint_url"].startswith("${BEDROCK_URL:-")


def test_the_entra_token_variable_is_a_secret_to_the_redactor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PC_BADGE", "entra-badge-value-77")
    redactor = redactor_for(_load(tmp_path, AZURE))
    assert redactor.text("token entra-badge-value-77 seen") == "token [REDACTED] seen"


@pytest.mark.parametrize(
    ("name", "value"),
    [("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG"), ("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2Vj-abc"),
     ("AZURE_OPENAI_API_KEY", "0123456789abcdef0123"), ("AZURE_OPENAI_AD_TOKEN", "eyJhbGciOi-entra")],
)  # fmt: skip
def test_the_clouds_credential_variables_are_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    assert value not in redactor_for(_load(tmp_path, AZURE)).text(f"the model said {value}")


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ('provider = "bedrock"\nregion = "us-east-1 "', "region must be an AWS region name such as us-east-1"),
        ('provider = "bedrock"\nendpoint_url = "localhost:4566"', "endpoint_url must be an http:// or https:// URL"),
        ('provider = "bedrock"\nprofile = 3', "profile must be a string, got 3"),
        ('provider = "azure-openai"\nazure_ad_token_env = "not a name"', "azure_ad_token_env must be the name of an"),
        ('provider = "azure-openai"\nendpoint = "${AZ"', "endpoint: `${AZ` is not closed"),
        ('provider = "anthropic"\nregion = "us-east-1"', "region: only bedrock models take `region`"),
        ('provider = "azure-openai"\nendpoint = "https://a.example"\nbase_url = "https://a.example"', "not both"),
    ],
)
def test_bad_cloud_keys_are_config_errors(tmp_path: Path, model: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=r"\[tool.promptcheck.model.m\]") as error:
        _load(tmp_path, f"[tool.promptcheck.model.m]\n{model}\n")
    assert expected in str(error.value)


def test_unknown_key_lists_the_cloud_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, '[tool.promptcheck.model.m]\nprovider = "bedrock"\nregoin = "us-east-1"\n')
    assert "unknown key 'regoin'" in str(error.value) and "region" in str(error.value).split("valid keys:")[1]


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_promptcheck.cli", "lint"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_lint_accepts_cloud_models_and_reports_a_bad_key(pytester: pytest.Pytester) -> None:
    """`promptcheck lint` knows the keys: a clean cloud config lints OK (no call, no credentials); a bad region fails."""
    pytester.makepyprojecttoml(AZURE)
    pytester.makefile(".prompts.yaml", test_suite=textwrap.dedent(ONE_CASE))
    clean = _lint(pytester.path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "1 suite(s) OK" in clean.stderr
    pytester.makepyprojecttoml(AZURE.replace('"eu-central-1"', '"Frankfurt"'))
    bad = _lint(pytester.path)
    assert bad.returncode == 1
    assert "[tool.promptcheck.model.br] region must be an AWS region name such as us-east-1" in bad.stdout + bad.stderr
