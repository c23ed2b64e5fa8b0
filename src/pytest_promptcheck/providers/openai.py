"""The ``openai`` provider: Chat Completions through the official SDK.

Also any OpenAI-compatible server (vLLM, Ollama, TGI, llama.cpp) through ``base_url``. The SDK's
own retries are off (``max_retries=0``) and every call has an explicit timeout: the engine owns
retries, so a call is never retried twice over or left hanging.

The body goes out through the SDK client's ``post()`` (see ``_sdk.post_json``), not
``chat.completions.create()``: every param reaches the body unchanged, so server-specific ones
(vLLM's ``top_k``, ``repetition_penalty``) need no special path. ``params: {stream: true}`` streams
the answer (``streaming``; ``stream_options.include_usage`` so tokens are counted) and records the
time to first token; ``api = "responses"`` speaks the Responses API instead (``openai_responses``).
"""

from __future__ import annotations

from typing import Any

from ..config_models import ModelConfig
from ..errors import ConfigError, MissingDependencyError, ProviderError
from ..textutil import clip
from . import _lean_http, openai_responses
from ._sdk import api_key, post_json, provider_error, server_words, token_count
from ._tool_wire import openai_message, openai_tool_calls, openai_tool_choice, openai_tools
from .base import Completion, ModelRequest, ProviderContext, Usage
from .content import chat_content
from .streaming import ChatChunks, stream_completion, wants_stream

# Generic parameter names used in suites, mapped to what Chat Completions calls them.
_PARAM_ALIASES = {"max_new_tokens": "max_tokens"}
# Body fields the provider owns: suite params never set them.
_KEY_HINT = " (or set base_url for a local OpenAI-compatible server, which needs none)"
_OWN_FIELDS = frozenset({"model", "messages", "stream"})


class OpenAIProvider:
    name = "openai"  # in errors; the azure-openai provider, which reuses this one, names itself

    def __init__(self, model: ModelConfig, context: ProviderContext) -> None:
        try:
            import openai
        except ImportError:
            raise MissingDependencyError("The OpenAI provider", "openai") from None
        self._openai = openai
        self.model = model
        if not model.model:
            raise ConfigError(f'model {model.name!r} (openai): set `model = "..."` (e.g. gpt-4o-mini)')
        base_url = model.resolved("base_url")
        self._timeout = float(model.timeout or context.project.timeout)
        self._model_id = str(model.resolved("model"))
        self._api = str(model.options.get("api", "chat"))  # checked in config: chat | responses
        self.client = openai.AsyncOpenAI(
            api_key=api_key(model, env_default="OPENAI_API_KEY", keyless=bool(base_url), hint=_KEY_HINT),
            base_url=base_url,
            max_retries=0,
            timeout=self._timeout,
        )
        # A plain-http OpenAI-compatible server: the same headers and errors, a fraction of the CPU (_lean_http)
        self._lean = None
        if _lean_http.wanted(model.options.get("http"), base_url, model.name):
            headers = {**self.client.auth_headers, **self.client.default_headers}
            self._lean = _lean_http.LeanHTTP(
                str(self.client.base_url), {k: v for k, v in headers.items() if isinstance(v, str)},
                provider="openai", model=model.name, words=server_words,
            )  # fmt: skip

    async def complete(self, request: ModelRequest) -> Completion:
        stream = wants_stream(request, "openai", self.model.name)
        if self._api == "responses":
            return await self._responses(request, stream)
        if stream:
            body = {**self._body(request), "stream": True}
            body.setdefault("stream_options", {"include_usage": True})  # else a stream reports no usage
            return await stream_completion(self._openai, self.client, "/chat/completions", body, ChatChunks(),
                                           **self._call_options(request))  # fmt: skip
        if self._lean is not None:
            return self._completion(await self._lean.post_json("/chat/completions", self._body(request),
                                                               timeout=request.timeout))  # fmt: skip
        response = await post_json(self._openai, self.client, "/chat/completions", self._body(request),
                                   **self._call_options(request))  # fmt: skip
        return self._completion(response)

    async def _responses(self, request: ModelRequest, stream: bool) -> Completion:
        body = openai_responses.body(self._model_id, request, stream=stream)
        if stream:
            events = openai_responses.ResponseEvents()
            return await stream_completion(self._openai, self.client, openai_responses.PATH, body, events,
                                           **self._call_options(request))  # fmt: skip
        response = await post_json(
            self._openai, self.client, openai_responses.PATH, body, **self._call_options(request)
        )
        completion = openai_responses.completion(response)
        if isinstance(completion, str):
            raise self._error(f"malformed response from the server: expected a response object, got {completion}")
        return completion

    def _call_options(self, request: ModelRequest) -> dict[str, Any]:
        return {"timeout": request.timeout, "client_timeout": self._timeout, "provider": self.name,
                "model": self.model.name, "server_words": server_words}  # fmt: skip

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        """The Chat Completions request body: suite params under their API names, then the seed."""
        body: dict[str, Any] = {"model": self._model_id, "messages": [_chat_message(m) for m in request.messages]}
        for key, value in request.params.items():
            name = _PARAM_ALIASES.get(key, key)
            if name == "extra_body" and isinstance(value, dict):  # the SDK's spelling, kept working
                body.update((k, v) for k, v in value.items() if k not in _OWN_FIELDS)
            elif name not in _OWN_FIELDS:
                body[name] = value
        if request.seed is not None:
            body.setdefault("seed", request.seed)
        if request.tools:  # the suite's tools win over a `tools` param
            body["tools"] = openai_tools(request.tools)
            if request.tool_choice is not None:
                body["tool_choice"] = openai_tool_choice(request.tool_choice)
        return body

    def _completion(self, response: Any) -> Completion:
        """The fields we read from a ``chat.completion`` object (a dict; the SDK hands back text that is not JSON)."""
        choice = _first_choice(response)
        message = choice.get("message") if choice is not None else None
        if choice is None or not isinstance(message, dict):
            got = f"a non-JSON body {clip(response, 120)!r}" if isinstance(response, str) else "no choices[0].message"
            raise self._error(f"malformed response from the server: expected a chat.completion object, got {got}")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            got = clip(repr(content), 120)
            raise self._error(f"malformed response from the server: choices[0].message.content is {got}")
        usage = response.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        served = response.get("model")
        return Completion(
            output=content or "",
            finish_reason=choice.get("finish_reason"),
            usage=Usage(token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens"))),
            served_model=served if isinstance(served, str) else None,
            tool_calls=openai_tool_calls(message),
        )

    def _error(self, message: str) -> ProviderError:
        return provider_error(self.name, self.model.name, message)

    def identity(self) -> dict[str, str]:
        """What the response cache keys on: the model id and the server it is asked at."""
        return {"model": str(self._model_id), "base_url": str(self.client.base_url)}

    async def aclose(self) -> None:
        if self._lean is not None:
            await self._lean.aclose()
        await self.client.close()


def _first_choice(response: Any) -> dict[str, Any] | None:
    choices = response.get("choices") if isinstance(response, dict) else None
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return None


def create(model: ModelConfig, context: ProviderContext) -> OpenAIProvider:
    return OpenAIProvider(model, context)


def _chat_message(message: dict[str, Any]) -> dict[str, Any]:
    """A neutral message as Chat Completions takes it: tool calls and results, then content parts."""
    wire = openai_message(message)
    return {**wire, "content": chat_content(wire["content"])} if isinstance(wire.get("content"), list) else wire
