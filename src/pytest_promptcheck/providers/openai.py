"""The ``openai`` provider: Chat Completions through the official SDK.

Also any OpenAI-compatible server (vLLM, Ollama, TGI, llama.cpp) through ``base_url``. The SDK's
own retries are off (``max_retries=0``) and every call has an explicit timeout: the engine owns
retries, so a call is never retried twice over or left hanging.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from ..config import ModelConfig
from ..errors import ConfigError, MissingDependencyError, ProviderError
from ._sdk import clip as _clip
from ._sdk import guarded, provider_error
from .base import Completion, ModelRequest, ProviderContext, Usage

# Generic parameter names used in suites, mapped to what Chat Completions calls them.
_PARAM_ALIASES = {"max_new_tokens": "max_tokens"}
# create() arguments that are not model parameters: suite params never set them.
_NOT_PARAMS = frozenset(
    {"self", "model", "messages", "timeout", "extra_headers", "extra_query", "extra_body", "stream"}
)


class OpenAIProvider:
    def __init__(self, model: ModelConfig, context: ProviderContext) -> None:
        try:
            import openai
        except ImportError:
            raise MissingDependencyError("The OpenAI provider", "openai") from None
        self._openai = openai
        self.model = model
        self._create_params: frozenset[str] | None = None
        if not model.model:
            raise ConfigError(f'model {model.name!r} (openai): set `model = "..."` (e.g. gpt-4o-mini)')
        base_url = model.resolved("base_url")
        self._timeout = float(model.timeout or context.project.timeout)
        self._model_id = str(model.resolved("model"))
        self.client = openai.AsyncOpenAI(
            api_key=_api_key(model, base_url), base_url=base_url, max_retries=0, timeout=self._timeout
        )

    async def complete(self, request: ModelRequest) -> Completion:
        openai = self._openai
        kwargs, extra_body = self._split_params(request.params)
        if request.seed is not None and "seed" not in extra_body:
            kwargs.setdefault("seed", request.seed)
        if extra_body:
            kwargs["extra_body"] = extra_body
        if request.timeout != self._timeout:  # per-call options cost the SDK a copy of its settings
            kwargs["timeout"] = request.timeout
        response = await guarded(
            openai,
            self.client.chat.completions.create(
                model=self._model_id,
                messages=[dict(m) for m in request.messages],  # type: ignore[misc]
                **kwargs,
            ),
            provider="openai", model=self.model.name, base_url=str(self.client.base_url),
            timeout=request.timeout, server_words=_server_words,
        )  # fmt: skip
        return self._completion(response)

    def _split_params(self, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Suite params as ``create()`` arguments; names the SDK does not know (``top_k``,
        ``repetition_penalty`` for vLLM and the like) go to the request body through ``extra_body``."""
        if self._create_params is None:
            signature = inspect.signature(self.client.chat.completions.create)
            self._create_params = frozenset(signature.parameters) - _NOT_PARAMS
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in params.items():
            name = _PARAM_ALIASES.get(key, key)
            if name == "extra_body" and isinstance(value, dict):
                extra.update(value)
            elif name in self._create_params:
                kwargs[name] = value
            else:
                extra[name] = value
        return kwargs, extra

    def _completion(self, response: Any) -> Completion:
        choices = getattr(response, "choices", None)
        if not choices or getattr(choices[0], "message", None) is None:
            # the SDK hands back the text of a body that is not JSON
            got = f"a non-JSON body {_clip(response)!r}" if isinstance(response, str) else "no choices[0].message"
            raise self._error(f"malformed response from the server: expected a chat.completion object, got {got}")
        choice = choices[0]
        usage = getattr(response, "usage", None)
        return Completion(
            output=choice.message.content or "",
            finish_reason=choice.finish_reason,
            usage=Usage(getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)),
            served_model=getattr(response, "model", None),
        )

    def _error(self, message: str) -> ProviderError:
        return provider_error("openai", self.model.name, message)

    def identity(self) -> dict[str, str]:
        """What the response cache keys on: the model id and the server it is asked at."""
        return {"model": str(self._model_id), "base_url": str(self.client.base_url)}

    async def aclose(self) -> None:
        await self.client.close()


def _api_key(model: ModelConfig, base_url: str | None) -> str:
    env_name = model.api_key_env or "OPENAI_API_KEY"
    key = os.environ.get(env_name)
    if key:
        return key
    if model.api_key_env or not base_url:
        raise ConfigError(
            f"model {model.name!r} (openai) needs an API key: export {env_name}=... "
            "(or set base_url for a local OpenAI-compatible server, which needs none)"
        )
    return "not-needed"  # local servers ignore the key, but the SDK requires one


def _server_words(body: dict[str, Any]) -> str | None:
    error = body.get("error", body)
    return str(error["message"]) if isinstance(error, dict) and error.get("message") else None


def create(model: ModelConfig, context: ProviderContext) -> OpenAIProvider:
    return OpenAIProvider(model, context)
