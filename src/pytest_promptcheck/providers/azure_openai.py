"""The ``azure-openai`` provider: Chat Completions on an Azure OpenAI deployment, through the SDK's ``AsyncAzureOpenAI``.

The request body and the reply are the ``openai`` provider's (this class reuses its ``_body`` and
``_completion``); what differs is where the call goes and how it is authorised. The SDK posts to
``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version={api_version}`` with an
``api-key`` header (or ``Authorization: Bearer`` for a Microsoft Entra ID token).

Keys (``[tool.promptcheck.model.NAME]``; ``${ENV}`` references allowed):

- ``endpoint`` (or ``base_url``, which ``--pc-model NAME=azure-openai:DEPLOYMENT@URL`` sets): the resource, ``https://my-resource.openai.azure.com``; else
  ``AZURE_OPENAI_ENDPOINT``, as the SDK reads it;
- ``deployment``: the deployment's name (else ``model``, which Azure takes as the deployment);
- ``api_version``: e.g. ``2024-10-21``; else ``OPENAI_API_VERSION``;
- ``api_key_env`` (default ``AZURE_OPENAI_API_KEY``), or ``azure_ad_token_env``: the variable holding
  an Entra ID token. Credentials only ever come from the environment.

As for every provider the SDK's retries are off and each call has an explicit timeout: the engine
owns retries. The response cache keys on the endpoint, deployment and api_version.
"""

from __future__ import annotations

import os
from typing import Any

from .. import config_clouds
from ..config_models import ModelConfig
from ..errors import ConfigError, MissingDependencyError
from ._cloud import option
from ._sdk import api_key
from .base import ProviderContext
from .openai import OpenAIProvider

DEFAULT_KEY_ENV = "AZURE_OPENAI_API_KEY"
_KEY_HINT = " (or set azure_ad_token_env to the variable that holds a Microsoft Entra ID token)"


class AzureOpenAIProvider(OpenAIProvider):
    name = "azure-openai"

    def __init__(self, model: ModelConfig, context: ProviderContext) -> None:
        try:
            import openai
        except ImportError:
            raise MissingDependencyError("The Azure OpenAI provider", "openai") from None
        self._openai = openai
        self.model = model
        self.endpoint = _endpoint(model)
        deployment = option(model, "deployment") or model.resolved("model")
        if not deployment:
            raise _missing(model, "deployment", 'deployment = "..."', "the name of your Azure OpenAI deployment")
        api_version = option(model, "api_version", env="OPENAI_API_VERSION")
        if not api_version:
            raise _missing(model, "api_version", 'api_version = "2024-10-21"', "or export OPENAI_API_VERSION")
        self.deployment, self.api_version = deployment, api_version
        self._timeout = float(model.timeout or context.project.timeout)
        self._model_id = self.deployment  # the body's `model`: Azure routes by the path, but the field is required
        self._api = "chat"  # the inherited complete(): Chat Completions, streamed when params ask for it
        self._lean = None  # always the SDK: Azure is https, with its own auth headers
        self.client = openai.AsyncAzureOpenAI(
            azure_endpoint=self.endpoint,
            azure_deployment=self.deployment,
            api_version=self.api_version,
            max_retries=0,
            timeout=self._timeout,
            **_credentials(model),
        )

    def identity(self) -> dict[str, str]:
        """What the response cache keys on: the resource, the deployment and the API version."""
        return {"endpoint": self.endpoint, "deployment": self.deployment, "api_version": self.api_version}


def _missing(model: ModelConfig, key: str, line: str, why: str) -> ConfigError:
    return ConfigError(f"model {model.name!r} ({model.provider}) needs `{key}`: set `{line}` in its table ({why})")


def _endpoint(model: ModelConfig) -> str:
    # base_url wins: a table never holds both (config load refuses it), so both means --pc-model ...@URL
    from_base_url = model.resolved("base_url")
    if from_base_url:
        return config_clouds.url(from_base_url, f"model {model.name!r} base_url")
    found = option(model, "endpoint", env="AZURE_OPENAI_ENDPOINT", check=config_clouds.url)
    if not found:
        raise _missing(
            model, "endpoint", 'endpoint = "https://my-resource.openai.azure.com"', "or export AZURE_OPENAI_ENDPOINT"
        )
    return found


def _credentials(model: ModelConfig) -> dict[str, Any]:
    """``api_key`` from ``api_key_env`` (default AZURE_OPENAI_API_KEY), or ``azure_ad_token`` from ``azure_ad_token_env``."""
    token_env = model.options.get("azure_ad_token_env")
    if token_env and model.api_key_env:
        raise ConfigError(
            f"model {model.name!r} ({model.provider}): set `api_key_env` or `azure_ad_token_env`, not both"
        )
    if token_env:
        token = os.environ.get(str(token_env))
        if not token:
            raise ConfigError(
                f"model {model.name!r} ({model.provider}) needs an Entra ID token: export {token_env}=... "
                "(or remove azure_ad_token_env to use an API key)"
            )
        return {"azure_ad_token": token}
    return {"api_key": api_key(model, env_default=DEFAULT_KEY_ENV, keyless=False, hint=_KEY_HINT)}


def create(model: ModelConfig, context: ProviderContext) -> AzureOpenAIProvider:
    return AzureOpenAIProvider(model, context)
