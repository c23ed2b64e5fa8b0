"""The ``bedrock`` provider: Amazon Bedrock's Converse API through boto3 (``bedrock-runtime``, ``converse``).

Our messages become a Converse call: ``system`` messages join the top-level ``system`` blocks; the
rest are sent in order as ``user`` / ``assistant`` messages of content blocks (text, images as
bytes, ``toolUse`` for an assistant's tool calls, ``toolResult`` for a ``tool`` message, which
Converse sends as a user turn), consecutive messages of one role merged so roles alternate. Params:
``temperature``, ``max_tokens`` (or ``max_new_tokens``) → ``maxTokens``, ``top_p`` → ``topP``, ``stop``
(or ``stop_sequences``) → ``stopSequences`` go in ``inferenceConfig``; any other param (``top_k``)
goes in ``additionalModelRequestFields`` for the model itself; the seed is not sent (Converse has
none). Tools, when the request has them, go in ``toolConfig`` and ``toolUse`` blocks come back as
tool calls.

Keys: ``model`` (the model id or an inference profile), ``region`` (else the AWS chain's: AWS_REGION,
the profile), ``profile`` (a profile of ~/.aws/config), ``endpoint_url`` (another endpoint: a VPC
endpoint, or the tests' server). Credentials come from the usual AWS chain, never from the config.

boto3 is synchronous: each call runs on a thread of the provider's own pool, sized to the model's
concurrency (so the engine's limit is the only queue), and waits at most the call's timeout.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import config_clouds
from ..config_models import ModelConfig
from ..errors import ConfigError, ProviderError
from . import _aws
from ._cloud import option
from ._sdk import token_count
from .base import Completion, Message, ModelRequest, ProviderContext, ToolCall, Usage

_INFERENCE = {"temperature": "temperature", "max_tokens": "maxTokens", "max_new_tokens": "maxTokens",
              "top_p": "topP", "stop": "stopSequences", "stop_sequences": "stopSequences"}  # fmt: skip
_IGNORED = frozenset({"seed"})
_BACKSTOP_S = 0.5  # past botocore's own read timeout (a hung connect), inside the engine's 1 s grace
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
}


class BedrockProvider:
    name = _aws.PROVIDER

    def __init__(self, model: ModelConfig, context: ProviderContext) -> None:
        boto3 = _aws.import_boto3()
        self.model = model
        model_id = model.resolved("model")
        if not model_id:
            raise ConfigError(
                f'model {model.name!r} (bedrock): set `model = "..."`, the model id or inference profile '
                "(e.g. anthropic.claude-3-5-haiku-20241022-v1:0)"
            )
        self.model_id = model_id
        self._timeout = float(model.timeout or context.project.timeout)
        project = context.project  # the engine's concurrency_limit for a remote model: as many threads as calls
        pool = int(project.cli_concurrency or model.concurrency or project.concurrency)
        region = option(model, "region", check=config_clouds.region)
        self.endpoint_url = option(model, "endpoint_url", check=config_clouds.url)
        self._session = _aws.session(boto3, model, region=region, profile=option(model, "profile"))
        self.region = str(self._session.region_name)
        self._pool_size = pool
        self._pool = ThreadPoolExecutor(max_workers=pool, thread_name_prefix=f"bedrock-{model.name}")
        # One client per call timeout (botocore's read timeout is the client's): a call that times out
        # frees its thread then, instead of holding it for the model's longest timeout.
        self._clients: dict[float, Any] = {}
        self._clients_lock = threading.Lock()
        self.client = self._client(self._timeout)

    def _client(self, timeout: float) -> Any:
        with self._clients_lock:  # a boto3 session must not make two clients at once
            found = self._clients.get(timeout)
            if found is None:
                found = self._clients[timeout] = _aws.runtime_client(
                    self._session, endpoint_url=self.endpoint_url, timeout=timeout, pool=self._pool_size
                )
            return found

    async def complete(self, request: ModelRequest) -> Completion:
        kwargs = self._kwargs(request)
        loop = asyncio.get_running_loop()
        endpoint = str(self.client.meta.endpoint_url)
        try:
            response = await asyncio.wait_for(  # botocore's read timeout fires first; this is the backstop
                loop.run_in_executor(self._pool, lambda: self._client(request.timeout).converse(**kwargs)),
                request.timeout + _BACKSTOP_S,
            )
        except asyncio.TimeoutError:
            raise self._error(f"no response within {request.timeout:g} s (timeout)", retryable=True) from None
        except Exception as exc:  # only boto3 runs in the thread: whatever it raises is the call's failure
            raise _aws.mapped(exc, model=self.model.name, endpoint=endpoint, timeout=request.timeout) from None
        return self._completion(response)

    def _kwargs(self, request: ModelRequest) -> dict[str, Any]:
        """The ``converse`` arguments: model id, messages, system blocks, inferenceConfig, tools."""
        system, messages = to_converse(request.messages, self.model.name)
        kwargs: dict[str, Any] = {"modelId": self.model_id, "messages": messages}
        if system:
            kwargs["system"] = system
        inference: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in request.params.items():
            if value is None or key in _IGNORED:
                continue
            name = _INFERENCE.get(key)
            if name == "stopSequences" and isinstance(value, str):
                value = [value]
            (inference if name else extra)[name or key] = value
        if inference:
            kwargs["inferenceConfig"] = inference
        if extra:
            kwargs["additionalModelRequestFields"] = extra
        tools = _tool_config(request)
        if tools:
            kwargs["toolConfig"] = tools
        return kwargs

    def _completion(self, response: Any) -> Completion:
        message = (response.get("output") or {}).get("message") if isinstance(response, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            raise self._error("malformed response from the server: expected output.message.content in the reply")
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in message["content"]:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif isinstance(block, dict) and isinstance(block.get("toolUse"), dict):
                calls.append(_tool_call(block["toolUse"]))
        usage = response.get("usage") or {}
        reason = response.get("stopReason")
        return Completion(
            output="".join(texts),
            finish_reason=_FINISH_REASONS.get(reason, reason) if isinstance(reason, str) else None,
            usage=Usage(token_count(usage.get("inputTokens")), token_count(usage.get("outputTokens"))),
            served_model=self.model_id,
            tool_calls=tuple(calls),
        )

    def _error(self, message: str, *, retryable: bool = False) -> ProviderError:
        return ProviderError(self.name, self.model.name, message, retryable=retryable)

    def identity(self) -> dict[str, str]:
        """What the response cache keys on: the model id, the region and the endpoint asked."""
        return {"model": self.model_id, "region": self.region, "endpoint_url": self.endpoint_url or ""}

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self._clients.values():
            client.close()


def to_converse(messages: tuple[Message, ...], model: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Our messages as Converse ``system`` blocks and alternating ``messages`` (consecutive roles merged)."""
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            system.extend(_blocks(message.get("content"), model))
            continue
        if role == "tool":
            result = {
                "toolUseId": str(message.get("tool_call_id") or ""),
                "content": _blocks(message.get("content"), model),
            }
            role, blocks = "user", [{"toolResult": result}]
        else:
            blocks = _blocks(message.get("content"), model)
            blocks += [{"toolUse": _tool_use(call)} for call in message.get("tool_calls") or ()]
        if role not in ("user", "assistant"):
            raise ProviderError(
                _aws.PROVIDER, model, f"message role {role!r} has no Converse form (system, user, assistant, tool)"
            )
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return system, out


def _blocks(content: Any, model: str) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else [content]:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.append({"text": str(part.get("text", ""))})
        elif kind == "image" and part.get("data"):
            media = str(part.get("media_type") or "image/png")
            raw = base64.b64decode(part["data"])
            blocks.append({"image": {"format": media.rpartition("/")[2], "source": {"bytes": raw}}})
        else:
            raise ProviderError(
                _aws.PROVIDER, model, f"content part {part!r:.80} has no Converse form (text, image data)"
            )
    return blocks


def _tool_use(call: Any) -> dict[str, Any]:
    arguments = call.get("arguments") if isinstance(call, dict) else None
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        parsed = None
    return {
        "toolUseId": str(call.get("id") or ""),
        "name": str(call.get("name")),
        "input": parsed if isinstance(parsed, dict) else {},
    }


def _tool_config(request: ModelRequest) -> dict[str, Any] | None:
    """``toolConfig`` from the request's tools (OpenAI's flat form); ``tool_choice`` "none" sends none."""
    if not request.tools or request.tool_choice == "none":
        return None
    tools = [
        {"toolSpec": {"name": t["name"], "description": t.get("description") or t["name"],
                      "inputSchema": {"json": t.get("parameters") or {"type": "object", "properties": {}}}}}
        for t in request.tools
    ]  # fmt: skip
    config: dict[str, Any] = {"tools": tools}
    choice = request.tool_choice
    if choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif choice == "required":
        config["toolChoice"] = {"any": {}}
    elif isinstance(choice, dict) and choice.get("name"):
        config["toolChoice"] = {"tool": {"name": choice["name"]}}
    return config


def _tool_call(use: dict[str, Any]) -> ToolCall:
    arguments = use.get("input")
    raw = json.dumps(arguments, ensure_ascii=False)
    error = None if isinstance(arguments, dict) else f"toolUse.input is {type(arguments).__name__}, not an object"
    return ToolCall(
        name=str(use.get("name") or ""), raw_arguments=raw, arguments=arguments if error is None else None,
        id=use.get("toolUseId"), error=error,
    )  # fmt: skip


def create(model: ModelConfig, context: ProviderContext) -> BedrockProvider:
    return BedrockProvider(model, context)
