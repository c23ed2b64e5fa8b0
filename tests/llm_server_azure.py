"""Azure OpenAI's wire protocol for tests/llm_server.py: deployments, api-version, the ``api-key`` header.

``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` answers as OpenAI's Chat
Completions (the same responder, faults and recorded requests) once the request passes Azure's
checks, in this order: an ``api-version`` query (else 404, as Azure answers), the credential (the
``api-key`` header, or ``Authorization: Bearer`` with an Entra ID token; else 401), a known
deployment (else 404 ``DeploymentNotFound``). Errors come in Azure's format,
``{"error": {"code": ..., "message": ...}}``. What the server accepts is ``server.azure``, an
:class:`AzureAccount` (``AzureAccount()`` unless a test sets one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import llm_server as base

KEY = "azure-test-key-3f9c2b7e1d"
DEPLOYMENT = "chat-dep"
API_VERSION = "2024-10-21"
_PATH = re.compile(r"/openai/deployments/(?P<deployment>[^/]+)/chat/completions")
_CODES = {400: "BadRequest", 401: "401", 404: "404", 429: "429", 500: "InternalServerError", 503: "ServiceUnavailable"}


@dataclass
class AzureAccount:
    """What the Azure route accepts."""

    key: str | None = KEY  # the api-key header's value
    token: str | None = None  # an Entra ID token (Authorization: Bearer ...)
    deployments: tuple[str, ...] = (DEPLOYMENT,)


def azure_error(status: int, message: str, headers: dict[str, str] | None = None) -> base.Response:
    return base.json_response(status, {"error": {"code": _CODES.get(status, str(status)), "message": message}}, headers)


def azure_chat_completions(server: base.LLMServer, request: base.RecordedRequest) -> base.Response:
    account: AzureAccount = getattr(server, "azure", None) or AzureAccount()
    url = urlsplit(request.path)
    if not parse_qs(url.query).get("api-version"):
        return azure_error(404, "Resource not found")
    bearer = request.headers.get("authorization", "")
    if not (
        (account.key is not None and request.headers.get("api-key") == account.key)
        or (account.token is not None and bearer == f"Bearer {account.token}")
    ):
        return azure_error(
            401,
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
            "for an active subscription and use a correct regional API endpoint for your resource.",
        )
    match = _PATH.fullmatch(url.path)
    if match is None or match["deployment"] not in account.deployments:
        return base.json_response(
            404,
            {"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist. "
                       "If you created the deployment within the last 5 minutes, please wait a moment and try again."}},
        )  # fmt: skip
    return base.openai_chat_completions(server, request)


ROUTES: list[base.PatternRoute] = [("POST", _PATH, azure_chat_completions, azure_error)]
