"""The ``openai`` provider: Chat Completions through the official SDK.

Also any OpenAI-compatible server (vLLM, Ollama, TGI, llama.cpp) through ``base_url``. The SDK's
own retries are off (``max_retries=0``) and every call has an explicit timeout: the engine owns
retries, so a call is never retried twice over or left hanging.
"""

from __future__ import annotations

import inspect
import json
import os
from typing import Any
from urllib.parse import urlsplit

from ..config import ModelConfig
from ..errors import ConfigError, MissingDependencyError, ProviderError
from .base import Completion, ModelRequest, ProviderContext, Usage, parse_retry_after

# Generic parameter names used in suites, mapped to what Chat Completions calls them.
_PARAM_ALIASES = {"max_new_tokens": "max_tokens"}
_RETRYABLE_STATUS = {408, 409, 429}
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
        try:
            response = await self.client.chat.completions.create(
                model=self._model_id,
                messages=[dict(m) for m in request.messages],  # type: ignore[misc]
                **kwargs,
            )
        except openai.APITimeoutError:
            raise self._error(f"no response within {request.timeout:g} s (timeout)", retryable=True) from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise self._error(f"connection to {self._where()} failed: {cause}", retryable=True) from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            raise self._error(
                _status_message(exc),
                status=status,
                retryable=status in _RETRYABLE_STATUS or status >= 500,
                headers=exc.response.headers,
            ) from None
        except openai.APIResponseValidationError as exc:
            raise self._error(f"malformed response from the server: {exc.message}") from None
        except json.JSONDecodeError as exc:  # the SDK lets a body that is not JSON surface as a decode error
            raise self._error(f"malformed response from the server: the body is not valid JSON ({exc})") from None
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

    def _where(self) -> str:
        url = urlsplit(str(self.client.base_url))
        return f"{url.scheme}://{url.hostname}" + (f":{url.port}" if url.port else "")  # no userinfo

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

    def _error(
        self, message: str, *, status: int | None = None, retryable: bool = False, headers: Any = None
    ) -> ProviderError:
        header_map = dict(headers) if headers is not None else {}
        error = ProviderError(
            "openai", self.model.name, message, status=status, retryable=retryable,
            retry_after=parse_retry_after(header_map),
        )  # fmt: skip
        error.headers = header_map  # type: ignore[attr-defined]
        return error

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


def _status_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    message = str(getattr(exc, "message", exc))
    if isinstance(body, str) and body.strip():  # e.g. a proxy's HTML error page
        message += f" - {_clip(' '.join(body.split()), 200)}"
    return message


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def create(model: ModelConfig, context: ProviderContext) -> OpenAIProvider:
    return OpenAIProvider(model, context)
