"""The `azure-openai` provider end to end: pytest → engine → the openai SDK's AsyncAzureOpenAI → a local server
speaking Azure's deployment paths (tests/llm_server_azure.py). Nothing leaves 127.0.0.1; nothing in the SDK is patched.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

import llm_server_azure as azure
from llm_server import LLMServer, RecordedRequest
from provider_project import ECHO_SUITE, ONE_CASE, output_of
from pytest_promptcheck.config import ProjectConfig
from pytest_promptcheck.config_models import ModelConfig
from pytest_promptcheck.providers.azure_openai import AzureOpenAIProvider
from pytest_promptcheck.providers.base import ModelRequest, ProviderContext

pytest.importorskip("openai")
pytestmark = pytest.mark.usefixtures("openai_warm")  # see server_fixtures.openai_warm


def write_project(
    pytester: pytest.Pytester,
    endpoint: str,
    suite: str,
    *,
    deployment: str = azure.DEPLOYMENT,
    api_version: str = azure.API_VERSION,
    lines: str = "",
    top: str = 'cache = "off"',
) -> None:
    """One azure-openai model ``az`` on ``endpoint`` and one suite ``test_suite``."""
    pytester.makepyprojecttoml(
        textwrap.dedent(f"""
        [tool.promptcheck]
        models = ["az"]
        {top}

        [tool.promptcheck.model.az]
        provider = "azure-openai"
        endpoint = "{endpoint}"
        deployment = "{deployment}"
        api_version = "{api_version}"
        """)
        + lines
    )
    pytester.makefile(".prompts.yaml", test_suite=textwrap.dedent(suite))


@pytest.fixture
def azure_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", azure.KEY)
    for name in ("AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION", "AZURE_OPENAI_AD_TOKEN", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return azure.KEY


def test_verdicts_and_the_azure_wire_request(pytester: pytest.Pytester, llm_server: LLMServer, azure_key: str) -> None:
    """A pass and a failure from the server's answers; each request is Azure's: deployment path, api-version, api-key."""
    write_project(pytester, llm_server.url, ECHO_SUITE, lines="params = { temperature = 0.2 }\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*::good?az? PASSED*", "*::bad?az? FAILED*", "*contains 'refund'*"])
    requests = llm_server.requests
    assert len(requests) == 2
    for request in requests:
        assert request.method == "POST"
        assert (
            request.path == f"/openai/deployments/{azure.DEPLOYMENT}/chat/completions?api-version={azure.API_VERSION}"
        )
        assert request.headers["api-key"] == azure_key
        assert "authorization" not in request.headers
        assert request.body["temperature"] == 0.2
        assert request.body["messages"] == [{"role": "user", "content": request.last_user}]
        assert request.status == 200


def test_retries_on_429_and_500_then_succeeds(pytester: pytest.Pytester, llm_server: LLMServer, azure_key: str) -> None:
    """A throttled and a failing answer are retried by the engine (SDK retries off); the third attempt passes."""
    llm_server.add_fault(
        "status", status=429, retry_after=0, first=1, message="Requests to the deployment are throttled"
    )
    llm_server.add_fault("status", status=500, every=2, times=1)
    write_project(pytester, llm_server.url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert [r.status for r in llm_server.requests] == [429, 500, 200]


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"deployment": "no-such-dep"}, 404, "The API deployment for this resource does not exist*"),
        ({"key": "wrong-key-0000000000"}, 401, "Access denied due to invalid subscription key*"),
    ],
)
def test_non_retryable_error_shows_the_servers_message(
    pytester: pytest.Pytester, llm_server: LLMServer, azure_key: str, monkeypatch: pytest.MonkeyPatch,
    change: dict[str, str], status: int, words: str,
) -> None:  # fmt: skip
    """A wrong deployment (404) or key (401) is an error with Azure's words, after one request."""
    if "key" in change:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", change["key"])
    write_project(pytester, llm_server.url, ONE_CASE, deployment=change.get("deployment", azure.DEPLOYMENT))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*model az (azure-openai:chat-dep)*" if "key" in change else "*(azure-openai:no-such-dep)*",
            f"*azure-openai model 'az' (HTTP {status}): {words}",
        ]
    )
    assert llm_server.request_count == 1
    assert "Traceback" not in output_of(result)


def test_cache_hit_on_rerun_and_miss_on_another_api_version(
    pytester: pytest.Pytester, llm_server: LLMServer, azure_key: str
) -> None:
    """A rerun is answered by the cache; another api_version (or deployment) is another identity: a new call."""
    write_project(pytester, llm_server.url, ONE_CASE, top="")
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=1)
    assert llm_server.request_count == 1
    write_project(pytester, llm_server.url, ONE_CASE, top="", api_version="2025-01-01-preview")
    pytester.runpytest().assert_outcomes(passed=1)
    assert llm_server.request_count == 2
    assert llm_server.requests[-1].path.endswith("api-version=2025-01-01-preview")


def test_entra_token_never_in_any_artifact(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Entra ID token from `azure_ad_token_env` (a name the redactor would not guess) is sent as a Bearer
    token and scrubbed from every output and file, even when the model echoes it."""
    token = "eyJ0eXAiOiJKV1QiLCJhbGci-entra-Zk3"
    monkeypatch.setenv("PC_AZ_BADGE", token)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    llm_server.azure = azure.AzureAccount(key=None, token=token)  # type: ignore[attr-defined]

    def echo_header(request: RecordedRequest) -> str:
        return f"hello, I got {request.headers['authorization'].split()[-1]} ({request.last_user})"  # no "Bearer" shape

    llm_server.responder = echo_header
    write_project(
        pytester,
        llm_server.url,
        ONE_CASE,
        top='runs = ".promptcheck/runs"',
        lines='azure_ad_token_env = "PC_AZ_BADGE"\n',
    )
    result = pytester.runpytest(
        "-vv", "-rA", "-l", "--pc-report=json:out/r.json", "--pc-report=html:out/r.html", "--junitxml=out/junit.xml"
    )
    result.assert_outcomes(passed=1)
    assert llm_server.requests[0].headers["authorization"] == f"Bearer {token}"  # it was used
    assert token not in output_of(result)
    files = [p for p in Path(pytester.path).rglob("*") if p.is_file()]
    assert any(p.name == "results.jsonl" for p in files)
    for path in files:
        assert token.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("env", "lines", "expected"),
    [
        ({}, "", "*model 'az' (azure-openai) needs an API key: export AZURE_OPENAI_API_KEY=*azure_ad_token_env*"),
        ({}, 'api_key_env = "PC_AZ_KEY"\n', "*needs an API key: export PC_AZ_KEY=*"),
        ({}, 'azure_ad_token_env = "PC_AZ_TOKEN"\n', "*needs an Entra ID token: export PC_AZ_TOKEN=*"),
    ],
)
def test_missing_credential_names_the_variable(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str], lines: str, expected: str,
) -> None:  # fmt: skip
    for name in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "PC_AZ_KEY", "PC_AZ_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    write_project(pytester, llm_server.url, ONE_CASE, lines=lines)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([expected])
    assert llm_server.request_count == 0


def test_endpoint_and_api_version_from_the_sdks_variables(
    pytester: pytest.Pytester, llm_server: LLMServer, azure_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `endpoint` / `api_version`, AZURE_OPENAI_ENDPOINT and OPENAI_API_VERSION apply, as in the SDK."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", llm_server.url)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    pytester.makepyprojecttoml(
        '[tool.promptcheck]\nmodels = ["az"]\ncache = "off"\n\n'
        '[tool.promptcheck.model.az]\nprovider = "azure-openai"\nmodel = "chat-dep"\n'
    )
    pytester.makefile(".prompts.yaml", test_suite=textwrap.dedent(ONE_CASE))
    pytester.runpytest().assert_outcomes(passed=1)
    assert llm_server.requests[0].path == "/openai/deployments/chat-dep/chat/completions?api-version=2024-06-01"


def test_identity_names_endpoint_deployment_and_api_version(llm_server: LLMServer, azure_key: str) -> None:
    model = ModelConfig(
        name="az", provider="azure-openai",
        options={"endpoint": llm_server.url, "deployment": "chat-dep", "api_version": "2024-10-21"},
    )  # fmt: skip
    provider = AzureOpenAIProvider(model, ProviderContext(ProjectConfig(root=Path.cwd()), Path.cwd()))
    completion = asyncio.run(_complete(provider))
    assert completion == "hi"
    assert provider.identity() == {"endpoint": llm_server.url, "deployment": "chat-dep", "api_version": "2024-10-21"}


async def _complete(provider: AzureOpenAIProvider) -> str:
    try:
        return (await provider.complete(ModelRequest(messages=({"role": "user", "content": "hi"},)))).output
    finally:
        await provider.aclose()


def test_dropped_connection_is_a_connection_error(
    pytester: pytest.Pytester, llm_server: LLMServer, azure_key: str
) -> None:
    llm_server.add_fault("drop")
    write_project(pytester, llm_server.url, ONE_CASE, top='cache = "off"\nretries = 0')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*azure-openai model 'az': connection to {llm_server.url} failed: *"])
    assert llm_server.request_count == 1


def test_pc_model_points_a_model_at_an_azure_deployment(
    pytester: pytest.Pytester, llm_server: LLMServer, azure_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--pc-model NAME=azure-openai:DEPLOYMENT@ENDPOINT` (api-version from OPENAI_API_VERSION) serves a model."""
    monkeypatch.setenv("OPENAI_API_VERSION", azure.API_VERSION)
    write_project(pytester, "https://elsewhere.invalid", ONE_CASE)
    result = pytester.runpytest("-v", f"--pc-model=az=azure-openai:{azure.DEPLOYMENT}@{llm_server.url}")
    result.assert_outcomes(passed=1)
    assert llm_server.requests[0].path.startswith(f"/openai/deployments/{azure.DEPLOYMENT}/chat/completions?")
