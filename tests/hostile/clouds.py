"""Cloud models (azure-openai, bedrock) configured wrong: an error naming the key and the fix, before any call."""

from __future__ import annotations

from . import GOOD_SUITE, Hostile


def _entry(name: str, model: str, expect: str, note: str, *, status: int | None = 4) -> Hostile:
    pyproject = f'[tool.promptcheck]\nmodels = ["cloud"]\ncache = "off"\n\n[tool.promptcheck.model.cloud]\n{model}'
    return Hostile(name=name, files={"pyproject.toml": pyproject, "test_s.prompts.yaml": GOOD_SUITE},
                   expect=(expect,), status=status, note=note)  # fmt: skip


_AZURE = 'provider = "azure-openai"\nendpoint = "http://127.0.0.1:9"\n'
_BEDROCK = 'provider = "bedrock"\nmodel = "anthropic.claude-3-5-haiku-20241022-v1:0"\n'

ENTRIES = [
    _entry(
        "azure_missing_deployment",
        _AZURE + 'api_version = "2024-10-21"\n',
        "*model 'cloud' (azure-openai) needs `deployment`: set `deployment = \"...\"`*",
        "no deployment (nor model): the SDK would post to /openai/chat/completions and get a 404",
        status=1,
    ),
    _entry(
        "azure_missing_api_version",
        _AZURE + 'deployment = "chat"\n',
        "*model 'cloud' (azure-openai) needs `api_version`: set `api_version = \"2024-10-21\"`*OPENAI_API_VERSION*",
        "no api_version: the SDK raises a bare ValueError",
        status=1,
    ),
    _entry(
        "azure_endpoint_not_a_url",
        'provider = "azure-openai"\nendpoint = "my-resource.openai.azure.com"\ndeployment = "d"\n',
        "*[[]tool.promptcheck.model.cloud[]] endpoint must be an http:// or https:// URL*got 'my-resource.openai.azure.com'",
        "an endpoint without a scheme",
    ),
    _entry(
        "bedrock_bad_region",
        _BEDROCK + 'region = "US East (N. Virginia)"\n',
        "*[[]tool.promptcheck.model.cloud[]] region must be an AWS region name such as us-east-1*",
        "a region's display name instead of its code",
    ),
    _entry(
        "bedrock_endpoint_url_scheme",
        _BEDROCK + 'region = "us-east-1"\nendpoint_url = "file:///etc/passwd"\n',
        "*[[]tool.promptcheck.model.cloud[]] endpoint_url must be an http:// or https:// URL*",
        "an endpoint_url that is no web address",
    ),
    _entry(
        "deployment_on_an_openai_model",
        'provider = "openai"\nmodel = "gpt-4o-mini"\ndeployment = "chat"\n',
        "*[[]tool.promptcheck.model.cloud[]] deployment: only azure-openai models take `deployment`; remove it*",
        "an Azure key on another provider would be silently ignored",
    ),
]
