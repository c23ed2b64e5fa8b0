"""Amazon Bedrock's Converse API for tests/llm_server.py: ``POST /model/{modelId}/converse``, SigV4, AWS errors.

A request must carry a SigV4 ``Authorization`` header for the test access key
(``AWS4-HMAC-SHA256 Credential=AKIDTEST/<date>/<region>/bedrock/aws4_request, ...``; the signature
itself is not verified), else 403 ``UnrecognizedClientException``; its body must be a Converse
request (``messages`` of ``user``/``assistant`` turns that alternate and start with ``user``, each
a list of content blocks), else 400 ``ValidationException``. Then the server's responder answers,
as for the other routes (faults and recorded requests the same): the reply's text becomes one text
block, its finish reason a ``stopReason`` (stop → end_turn, length → max_tokens, tool_calls →
tool_use), its token counts ``usage``. A reply with finish reason ``tool_calls`` whose content is a
JSON object ``{"name": ..., "input": {...}}`` becomes a ``toolUse`` block instead.

Errors come as Bedrock sends them, so botocore parses them: the ``x-amzn-errortype`` header names
the exception, the body is ``{"message": ...}``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import llm_server as base

ACCESS_KEY = "AKIDTEST"
SECRET_KEY = "bedrock-test-secret-Vq7mK2xR9pL4"
_PATH = re.compile(r"/model/(?P<model>[^/]+)/converse")
_CREDENTIAL = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[a-z0-9-]+)/bedrock/aws4_request,"
)
_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
}


def bedrock_error(
    status: int, message: str, headers: dict[str, str] | None = None, *, kind: str | None = None
) -> base.Response:
    kind = kind or _TYPES.get(status, "InternalServerException")
    headers = {"x-amzn-errortype": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/",
               "x-amzn-requestid": "req-bedrock-test", **(headers or {})}  # fmt: skip
    return base.json_response(status, {"message": message}, headers)


def model_id(request: base.RecordedRequest) -> str | None:
    """The model id of a Converse request's path, URL-decoded (botocore quotes ``:`` in ``...-v1:0``)."""
    match = _PATH.fullmatch(request.path.split("?")[0])
    return unquote(match["model"]) if match else None


def signed_region(request: base.RecordedRequest) -> str | None:
    """The region of the request's SigV4 credential scope, when it is signed with the test key."""
    match = _CREDENTIAL.match(request.headers.get("authorization", ""))
    return match["region"] if match and match["key"] == ACCESS_KEY else None


def _invalid(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "The model returned the following errors: messages: at least one message is required"
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            return (
                "A conversation must alternate between user and assistant roles. Make sure the conversation "
                f"alternates between user and assistant roles and try again. (messages.{i}.role is {role!r})"
            )
        if not isinstance(message.get("content"), list) or not message["content"]:
            return f"messages.{i}.content must be a non-empty list of content blocks"
    max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        return "inferenceConfig.maxTokens must be at least 1"
    return None


def bedrock_converse(server: base.LLMServer, request: base.RecordedRequest) -> base.Response:
    if signed_region(request) is None:
        return bedrock_error(
            403, "The security token included in the request is invalid.", kind="UnrecognizedClientException"
        )
    problem = _invalid(request.body)
    if problem:
        return bedrock_error(400, problem)
    reply = server.reply_for(request)
    content: list[dict[str, Any]] = [{"text": reply.content}]
    if reply.finish_reason == "tool_calls":
        use = json.loads(reply.content)
        content = [{"toolUse": {"toolUseId": f"tooluse_{request.index}", "name": use["name"], "input": use["input"]}}]
    prompt = reply.prompt_tokens if reply.prompt_tokens is not None else len(request.text.split())
    completion = reply.completion_tokens if reply.completion_tokens is not None else len(reply.content.split())
    payload: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": _STOP_REASONS.get(reply.finish_reason, reply.finish_reason),
        "metrics": {"latencyMs": 1},
    }
    if reply.usage:
        payload["usage"] = {"inputTokens": prompt, "outputTokens": completion, "totalTokens": prompt + completion}
    return base.json_response(200, payload, {"x-amzn-requestid": f"req-{request.index:06d}"})


ROUTES: list[base.PatternRoute] = [("POST", _PATH, bedrock_converse, bedrock_error)]
