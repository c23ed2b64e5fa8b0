"""The `bedrock` provider end to end: pytest → engine → boto3's bedrock-runtime ``converse`` → a local server
speaking the Converse API with SigV4-signed requests (tests/llm_server_bedrock.py). Credentials come from the
environment as the AWS chain reads them (test values); nothing leaves 127.0.0.1 and nothing in boto3 is patched.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import llm_server_bedrock as bedrock
from llm_server import LLMServer, RecordedRequest, Reply
from provider_project import ECHO_SUITE, ONE_CASE, TWO_CASES, output_of
from pytest_promptcheck.config import ProjectConfig
from pytest_promptcheck.config_models import ModelConfig
from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.providers.base import ModelRequest, ProviderContext
from pytest_promptcheck.providers.bedrock import BedrockProvider

pytest.importorskip("boto3")

MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
_AWS_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN",
             "AWS_SECURITY_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
             "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE")  # fmt: skip


def _aws_env(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """Only the test credentials: no profile files, no instance metadata, no region unless a test sets one."""
    for name in _AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", bedrock.ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", bedrock.SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def boto3_warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One real converse call in this process, so boto3's lazily loaded modules and service data live here
    before any in-process pytester run (see server_fixtures.openai_warm for why)."""
    import boto3
    import botocore.config

    with pytest.MonkeyPatch.context() as patch, LLMServer() as server:
        _aws_env(patch, tmp_path_factory.mktemp("aws"))
        client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=server.url,
                              config=botocore.config.Config(retries={"total_max_attempts": 1}))  # fmt: skip
        client.converse(modelId="warm-up", messages=[{"role": "user", "content": [{"text": "hi"}]}])
        client.close()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, boto3_warm: None) -> Iterator[None]:
    _aws_env(monkeypatch, tmp_path)
    yield


def write_project(
    pytester: pytest.Pytester, endpoint_url: str, suite: str, *, lines: str = "", top: str = 'cache = "off"'
) -> None:
    """One bedrock model ``br`` (region us-east-1) on ``endpoint_url`` and one suite ``test_suite``."""
    pytester.makepyprojecttoml(
        textwrap.dedent(f"""
        [tool.promptcheck]
        models = ["br"]
        {top}

        [tool.promptcheck.model.br]
        provider = "bedrock"
        model = "{MODEL_ID}"
        region = "us-east-1"
        endpoint_url = "{endpoint_url}"
        """)
        + lines
    )
    pytester.makefile(".prompts.yaml", test_suite=textwrap.dedent(suite))


def test_verdicts_and_the_converse_wire_request(pytester: pytest.Pytester, llm_server: LLMServer, aws: None) -> None:
    """A pass and a failure; each request is a SigV4-signed Converse call with inferenceConfig from the params."""
    write_project(
        pytester, llm_server.url, ECHO_SUITE.replace('p: "{{ reply }}"', 'p: [ { system: "be brief" }, { user: "{{ reply }}" } ]'),
        lines='params = { temperature = 0.3, max_tokens = 64, top_p = 0.9, stop = ["END"], top_k = 5, seed = 7 }\n',
    )  # fmt: skip
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*::good?br? PASSED*", "*::bad?br? FAILED*", "*contains 'refund'*"])
    requests = llm_server.requests
    assert len(requests) == 2
    for request in requests:
        assert (request.method, bedrock.model_id(request)) == ("POST", MODEL_ID)
        assert request.path == "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
        assert bedrock.signed_region(request) == "us-east-1"  # signed with the test key, for us-east-1
        assert request.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={bedrock.ACCESS_KEY}/")
        assert request.body["system"] == [{"text": "be brief"}]
        assert request.body["messages"] == [{"role": "user", "content": [{"text": request.last_user}]}]
        assert request.body["inferenceConfig"] == {
            "temperature": 0.3,
            "maxTokens": 64,
            "topP": 0.9,
            "stopSequences": ["END"],
        }
        assert request.body["additionalModelRequestFields"] == {"top_k": 5}  # and no seed: Converse has none
        assert request.status == 200


def test_usage_and_stop_reason_reach_assertions(pytester: pytest.Pytester, llm_server: LLMServer, aws: None) -> None:
    llm_server.responder = lambda request: Reply(
        "hello there", finish_reason="length", prompt_tokens=12, completion_tokens=34
    )
    write_project(pytester, llm_server.url, """
        prompts:
          p: "go"
        cases:
          - id: ok
            assert: [ { tokens: { kind: input, min: 12, max: 12 } }, { tokens: { max: 34 } }, { finish_reason: length } ]
          - id: cut-off
            assert: [ { finish_reason: stop } ]
    """)  # fmt: skip
    pytester.runpytest().assert_outcomes(passed=1, failed=1)


def test_retries_throttling_and_500_then_succeeds(pytester: pytest.Pytester, llm_server: LLMServer, aws: None) -> None:
    """ThrottlingException (429, Retry-After) and a 500 are retried by the engine, one request per attempt."""
    llm_server.add_fault("status", status=429, retry_after=0, first=1, message="Too many requests, please wait")
    llm_server.add_fault("status", status=500, every=2, times=1)
    write_project(pytester, llm_server.url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert [r.status for r in llm_server.requests] == [429, 500, 200]  # botocore's own retries are off


@pytest.mark.parametrize(
    ("status", "kind"), [(400, "ValidationException"), (403, "AccessDeniedException")]
)  # fmt: skip
def test_non_retryable_error_shows_the_servers_message(
    pytester: pytest.Pytester, llm_server: LLMServer, aws: None, status: int, kind: str
) -> None:
    llm_server.add_fault("status", status=status, message="The provided model identifier is invalid.")
    write_project(pytester, llm_server.url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"*bedrock model 'br' (HTTP {status}): {kind}: The provided model identifier is invalid.*"]
    )
    assert llm_server.request_count == 1
    assert "Traceback" not in output_of(result)


def test_unsigned_for_another_key_is_refused(
    pytester: pytest.Pytester, llm_server: LLMServer, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server checks the SigV4 credential: another access key gets Bedrock's 403, shown as an error."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDOTHER")
    write_project(pytester, llm_server.url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*(HTTP 403): UnrecognizedClientException: The security token included in the request is invalid.*"]
    )


def test_cache_hit_on_rerun(pytester: pytest.Pytester, llm_server: LLMServer, aws: None) -> None:
    write_project(pytester, llm_server.url, ONE_CASE, top="")
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=1)
    assert llm_server.request_count == 1


def test_no_aws_secret_in_any_artifact(
    pytester: pytest.Pytester, llm_server: LLMServer, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The secret key never travels (SigV4 signs with it); the session token does, and an answer that echoes it
    is scrubbed from the terminal and every file the run writes."""
    session_token = "IQoJb3JpZ2luX2VjEPr-session-Hx81"
    monkeypatch.setenv("AWS_SESSION_TOKEN", session_token)

    def echo_token(request: RecordedRequest) -> str:
        return f"hello, token {request.headers.get('x-amz-security-token')}"

    llm_server.responder = echo_token
    write_project(pytester, llm_server.url, ONE_CASE, top='runs = ".promptcheck/runs"')
    result = pytester.runpytest("-vv", "-rA", "-l", "--pc-report=json:out/r.json", "--pc-report=html:out/r.html")
    result.assert_outcomes(passed=1)
    request = llm_server.requests[0]
    assert request.headers["x-amz-security-token"] == session_token  # it was used
    assert bedrock.SECRET_KEY.encode() not in request.raw and bedrock.SECRET_KEY not in json.dumps(request.headers)
    for secret in (session_token, bedrock.SECRET_KEY):
        assert secret not in output_of(result)
        for path in Path(pytester.path).rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


def test_missing_credentials_and_region_are_config_errors(
    pytester: pytest.Pytester, llm_server: LLMServer, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    write_project(pytester, llm_server.url, ONE_CASE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*model 'br' (bedrock) found no AWS credentials: export AWS_ACCESS_KEY_ID*"])
    _aws_env(monkeypatch, pytester.path)
    write_project(pytester, llm_server.url, ONE_CASE)
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('region = "us-east-1"\n', ""))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(['*needs a region: set `region = "us-east-1"`*'])
    assert llm_server.request_count == 0


def test_missing_boto3_gives_the_install_hint(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a process where boto3 cannot be imported (a sitecustomize blocks it), the error says what to install."""
    blocker = pytester.mkdir("no_boto3")
    (blocker / "sitecustomize.py").write_text(
        textwrap.dedent("""
        import sys

        class _Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("boto3", "botocore"):
                    raise ImportError(f"No module named {name!r} (blocked by the test)")
                return None

        sys.meta_path.insert(0, _Block())
    """)
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")]))
    write_project(pytester, "http://127.0.0.1:9", ONE_CASE)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*The Bedrock provider requires optional dependencies. Install with: pip install 'pytest-promptcheck[[]bedrock[]]'*"
        ]
    )


# -- the provider on its own (same boto3, same server) ---------------------------------------------


def _provider(url: str) -> BedrockProvider:
    model = ModelConfig(
        name="br", provider="bedrock", model=MODEL_ID, options={"region": "eu-west-1", "endpoint_url": url}
    )
    return BedrockProvider(model, ProviderContext(ProjectConfig(root=Path.cwd()), Path.cwd()))


async def _complete(provider: BedrockProvider, request: ModelRequest) -> object:
    try:
        return await provider.complete(request)
    except ProviderError as exc:
        return exc
    finally:
        await provider.aclose()


def test_tools_go_in_tool_config_and_tool_use_comes_back(llm_server: LLMServer, aws: None) -> None:
    llm_server.responder = lambda request: Reply(
        json.dumps({"name": "refund", "input": {"order": "A1", "amount": 5}}), finish_reason="tool_calls"
    )
    tools = (
        {
            "name": "refund",
            "description": "Refund an order",
            "parameters": {"type": "object", "properties": {"order": {"type": "string"}}},
        },
    )
    request = ModelRequest(
        messages=({"role": "user", "content": "refund A1"},), tools=tools, tool_choice={"name": "refund"}
    )
    completion = asyncio.run(_complete(_provider(llm_server.url), request))
    sent = llm_server.requests[0].body["toolConfig"]
    assert sent == {
        "tools": [
            {
                "toolSpec": {
                    "name": "refund",
                    "description": "Refund an order",
                    "inputSchema": {"json": tools[0]["parameters"]},
                }
            }
        ],
        "toolChoice": {"tool": {"name": "refund"}},
    }
    assert bedrock.signed_region(llm_server.requests[0]) == "eu-west-1"
    assert completion.finish_reason == "tool_calls"  # type: ignore[union-attr]
    (call,) = completion.tool_calls  # type: ignore[union-attr]
    assert (call.name, call.arguments, call.id) == ("refund", {"order": "A1", "amount": 5}, "tooluse_0")


def test_tool_turns_become_tool_use_and_tool_result_blocks(llm_server: LLMServer, aws: None) -> None:
    messages = (
        {"role": "user", "content": "refund A1"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "t1", "name": "refund", "arguments": '{"order": "A1"}'}],
        },
        {"role": "tool", "tool_call_id": "t1", "name": "refund", "content": "done"},
        {"role": "user", "content": "thanks"},
    )
    completion = asyncio.run(_complete(_provider(llm_server.url), ModelRequest(messages=messages)))
    assert completion.output == "thanks"  # type: ignore[union-attr]
    assert llm_server.requests[0].body["messages"] == [
        {"role": "user", "content": [{"text": "refund A1"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t1", "name": "refund", "input": {"order": "A1"}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "done"}]}}, {"text": "thanks"}],
        },
    ]


@pytest.mark.parametrize(
    ("kind", "options", "status", "retryable"),
    [
        ("status", {"status": 429}, 429, True),
        ("status", {"status": 503}, 503, True),
        ("status", {"status": 400}, 400, False),
        ("slow", {"delay": 2}, None, True),
        ("drop", {}, None, True),
        ("malformed", {}, None, False),  # not JSON
        ("malformed", {"body": b'{"output": 3}'}, None, False),  # JSON botocore cannot parse into Converse
        ("status", {"status": 502, "error_body": b"<html>Bad gateway</html>"}, 502, True),  # a proxy's page
    ],
)
def test_retryable_classification(
    llm_server: LLMServer, aws: None, kind: str, options: dict[str, object], status: int | None, retryable: bool
) -> None:
    llm_server.add_fault(kind, **options)  # type: ignore[arg-type]
    request = ModelRequest(messages=({"role": "user", "content": "hi"},), timeout=0.5)
    error = asyncio.run(_complete(_provider(llm_server.url), request))
    assert isinstance(error, ProviderError)
    assert (error.provider, error.status, error.retryable) == ("bedrock", status, retryable)
    assert kind != "malformed" or "malformed response from the server" in str(error)
    assert llm_server.request_count == 1


def test_endpoint_down_is_one_connection_error(pytester: pytest.Pytester, llm_server: LLMServer, aws: None) -> None:
    """An endpoint that does not answer: the first call says so, the others are not made (the engine's probe)."""
    url = llm_server.url
    llm_server.stop()
    write_project(pytester, url, TWO_CASES, top='cache = "off"\nretries = 0')
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["*bedrock model 'br': connection to http://127.0.0.1:* failed: *", "*did not answer this model's first call*"]
    )


def test_image_parts_are_sent_as_bytes_and_urls_are_refused(llm_server: LLMServer, aws: None) -> None:
    """An image given as data becomes a Converse image block (boto3 base64-encodes its bytes); a URL has no
    Converse form: an error that says so, before any request."""
    png = base64.b64encode(b"\x89PNG fake").decode()
    parts = [{"type": "text", "text": "what is this?"}, {"type": "image", "media_type": "image/png", "data": png}]
    asyncio.run(_complete(_provider(llm_server.url), ModelRequest(messages=({"role": "user", "content": parts},))))
    assert llm_server.requests[0].body["messages"][0]["content"] == [
        {"text": "what is this?"}, {"image": {"format": "png", "source": {"bytes": png}}}
    ]  # fmt: skip
    url_part = [{"type": "image", "url": "https://example.invalid/cat.png"}]
    error = asyncio.run(
        _complete(_provider(llm_server.url), ModelRequest(messages=({"role": "user", "content": url_part},)))
    )
    assert isinstance(error, ProviderError) and not error.retryable
    assert "has no Converse form" in str(error)
    assert llm_server.request_count == 1
