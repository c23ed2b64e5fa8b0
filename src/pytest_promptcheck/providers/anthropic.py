"""The ``anthropic`` provider: the Messages API through the official SDK.

Our messages become a Messages API call: ``system`` messages (wherever they stand) join, separated
by blank lines, into the top-level ``system`` parameter; the rest are sent in order, consecutive
messages of one role merged (blank-line separated) so roles alternate; the first of them must be a
``user`` message. ``max_tokens`` is required by the API: it comes from the params ``max_tokens``
or ``max_new_tokens``, else :data:`DEFAULT_MAX_TOKENS` (1024). ``stop`` is sent as
``stop_sequences``; ``temperature``, ``top_p``, ``top_k`` and other parameters pass through into the
request body as they are (``extra_body``, the SDK's spelling, is merged in); a param set to null is
not sent.
The Messages API takes no seed: the per-call seed (and a ``seed`` param) is not sent, so repeats of
a sampled case are independent draws, not reproducible ones.

Credentials: ``ANTHROPIC_API_KEY``, or the variable ``api_key_env`` names; only from the
environment. A ``base_url`` on localhost / 127.x / ::1 with no key set gets a placeholder key (a
local server or test double takes none); anywhere else a missing key is a configuration error.
Without ``base_url`` the SDK's default applies (``ANTHROPIC_BASE_URL``, else api.anthropic.com).

As for every provider, the SDK's own retries are off (``max_retries=0``) and each call has an
explicit timeout: the engine owns retries. As in the openai provider, the body goes out through the
SDK client's ``post()`` (see ``_sdk.post_json``); the client still sends ``anthropic-version``.
``params: {stream: true}`` streams the answer (``streaming``) and records the time to first token.
Content parts become blocks: text, and ``image`` with a base64 or url source (``content``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..config_models import ModelConfig
from ..errors import ConfigError, MissingDependencyError, ProviderError
from ..textutil import clip
from ._sdk import api_key, post_json, provider_error, server_words, token_count
from ._tool_wire import anthropic_tool_calls, anthropic_tool_choice, anthropic_tools, anthropic_turn, merge_content
from .base import Completion, Message, ModelRequest, ProviderContext, Usage
from .content import anthropic_blocks, text_of
from .streaming import AnthropicEvents, stream_completion, wants_stream

DEFAULT_MAX_TOKENS = 1024  # sent when the params set neither max_tokens nor max_new_tokens
_MAX_TOKENS_NAMES = frozenset({"max_tokens", "max_new_tokens"})
_STOP_NAMES = frozenset({"stop", "stop_sequences"})
_IGNORED = frozenset({"seed", "stream"})  # the Messages API has no seed; stream is the provider's own switch
_RESERVED = {
    "model": "set `model` in the model's configuration",
    "messages": "the prompt is the messages",
    "system": "use a `system` message in the prompt",
}
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_KEY_HINT = " (or set base_url for a local or proxy server, which needs none)"


class AnthropicProvider:
    def __init__(self, model: ModelConfig, context: ProviderContext) -> None:
        try:
            import anthropic
        except ImportError:
            raise MissingDependencyError("The Anthropic provider", "anthropic") from None
        self._anthropic = anthropic
        self.model = model
        if not model.model:
            raise ConfigError(f'model {model.name!r} (anthropic): set `model = "..."` (e.g. claude-sonnet-4-5)')
        base_url = model.resolved("base_url")
        self._timeout = float(model.timeout or context.project.timeout)
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key(
                model,
                env_default="ANTHROPIC_API_KEY",
                keyless=bool(base_url),  # an explicit server: its own key, if any, comes from api_key_env
                hint="" if model.api_key_env else _KEY_HINT,
            ),
            base_url=base_url,
            max_retries=0,
            timeout=self._timeout,
        )

    async def complete(self, request: ModelRequest) -> Completion:
        if wants_stream(request, "anthropic", self.model.name):
            return await stream_completion(
                self._anthropic, self.client, "/v1/messages", {**self._body(request), "stream": True},
                AnthropicEvents(_FINISH_REASONS), timeout=request.timeout, client_timeout=self._timeout,
                provider="anthropic", model=self.model.name, server_words=_typed_words,
            )  # fmt: skip
        response = await post_json(
            self._anthropic, self.client, "/v1/messages", self._body(request),
            timeout=request.timeout, client_timeout=self._timeout,
            provider="anthropic", model=self.model.name, server_words=_typed_words,
        )  # fmt: skip
        return self._completion(response)

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        """The Messages API request body (a batched request's ``params`` too: calls/batch_anthropic.py)."""
        system, messages = _to_messages(request.messages, self.model.name)
        body = {"model": str(self.model.resolved("model")), "messages": messages, **self._arguments(request.params)}
        if system:
            body["system"] = system
        if request.tools:
            body["tools"] = anthropic_tools(request.tools)
            if request.tool_choice is not None:
                body["tool_choice"] = anthropic_tool_choice(request.tool_choice)
        return body

    def _arguments(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Suite params as Messages API body fields (always with ``max_tokens``)."""
        fields: dict[str, Any] = {"max_tokens": DEFAULT_MAX_TOKENS}
        extra: dict[str, Any] = {}
        for key, value in params.items():  # in order: a case's value comes after the config's
            if key in _RESERVED:
                raise ConfigError(f"model {self.model.name!r} (anthropic): params cannot set {key!r}; {_RESERVED[key]}")
            if key in _IGNORED or value is None:  # null unsets a param (e.g. a config default)
                continue
            if key in _MAX_TOKENS_NAMES:
                fields["max_tokens"] = value
            elif key in _STOP_NAMES:
                fields["stop_sequences"] = self._stop_sequences(key, value)
            elif key == "extra_body" and isinstance(value, dict):
                extra.update(value)
            else:
                fields[key] = value
        fields.update((k, v) for k, v in extra.items() if k not in _RESERVED and k not in _IGNORED)
        return fields

    def _stop_sequences(self, key: str, value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return list(value)
        raise ConfigError(
            f"model {self.model.name!r} (anthropic): param {key!r} must be a string or a list of strings, got {value!r}"
        )

    def _completion(self, response: Any) -> Completion:
        """The fields we read from a ``message`` object (a dict; the SDK hands back text that is not JSON)."""
        content = response.get("content") if isinstance(response, dict) else None
        if not isinstance(content, list):
            got = f"a non-JSON body {clip(response, 120)!r}" if isinstance(response, str) else "no content list"
            raise self._error(f"malformed response from the server: expected a message object, got {got}")
        usage = response.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        stop_reason = response.get("stop_reason")
        served = response.get("model")
        return Completion(
            output="".join(_texts(content)),
            finish_reason=_FINISH_REASONS.get(stop_reason, stop_reason) if isinstance(stop_reason, str) else None,
            usage=Usage(token_count(usage.get("input_tokens")), token_count(usage.get("output_tokens"))),
            served_model=served if isinstance(served, str) else None,
            tool_calls=anthropic_tool_calls(content),
        )

    def _error(self, message: str) -> ProviderError:
        return provider_error("anthropic", self.model.name, message)

    def identity(self) -> dict[str, str]:
        """What the response cache keys on: the model id and the server it is asked at."""
        return {"model": str(self.model.resolved("model")), "base_url": str(self.client.base_url)}

    async def aclose(self) -> None:
        await self.client.close()


def _to_messages(messages: Iterable[Message], name: str) -> tuple[str, list[dict[str, Any]]]:
    """Our messages as (``system`` text, alternating user/assistant turns starting with user).

    Tool calls and tool results become ``tool_use`` / ``tool_result`` blocks (``_tool_wire``),
    content parts (images) Messages API blocks (``content``).
    """
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role, content = anthropic_turn(message)
        if isinstance(content, list):
            content = anthropic_blocks(content)
        if role == "system":
            system.append(text_of(message.get("content", "")))
        elif role not in ("user", "assistant"):
            raise ConfigError(
                f"model {name!r} (anthropic): message role {role!r} is not system, user, assistant or tool"
            )
        elif turns and turns[-1]["role"] == role:
            turns[-1]["content"] = merge_content(turns[-1]["content"], content)
        else:
            turns.append({"role": role, "content": content})
    if not turns or turns[0]["role"] != "user":
        found = "only system messages" if not turns else "an assistant message first"
        raise ConfigError(
            f"model {name!r} (anthropic): the Messages API needs a user message before any assistant "
            f"message (system messages aside); this prompt has {found}"
        )
    return "\n\n".join(system), turns


def _texts(content: list[Any]) -> Iterable[str]:
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            yield block["text"]


def _typed_words(body: dict[str, Any]) -> str | None:
    """Anthropic's error body: ``error.message``, prefixed by its ``type``."""
    return server_words(body, typed=True)


def create(model: ModelConfig, context: ProviderContext) -> AnthropicProvider:
    return AnthropicProvider(model, context)
