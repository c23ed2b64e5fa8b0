"""What the official OpenAI and Anthropic SDKs share: one exception tree, mapped to ProviderError.

Both SDKs are generated from the same toolkit and raise the same exception classes (each from its
own module), so one mapping serves both: which failures are worth retrying (408, 409, 429, every
5xx incl. Anthropic's 529, timeouts, dropped connections), the server's own words, Retry-After.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from ..config_models import ModelConfig
from ..errors import ConfigError, ProviderError
from ..textutil import clip
from .base import parse_retry_after

RETRYABLE_STATUS = frozenset({408, 409, 429})  # and every 5xx

ServerWords = Callable[[dict[str, Any]], str | None]


async def guarded(
    sdk: Any,
    call: Awaitable[Any],
    *,
    provider: str,
    model: str,
    base_url: str,
    timeout: float,
    server_words: ServerWords,
) -> Any:
    """Await an SDK call; every SDK failure becomes a ProviderError that says what happened."""

    def error(
        message: str, *, status: int | None = None, retryable: bool = False, headers: Any = None
    ) -> ProviderError:
        return provider_error(provider, model, message, status=status, retryable=retryable, headers=headers)

    try:
        return await call
    except sdk.APITimeoutError:
        raise error(f"no response within {timeout:g} s (timeout)", retryable=True) from None
    except sdk.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        failed = error(f"connection to {where(base_url)} failed: {cause}", retryable=True)
        failed.connection = True
        raise failed from None
    except sdk.APIStatusError as exc:
        status = exc.status_code
        retryable = status in RETRYABLE_STATUS or status >= 500
        raise error(status_message(exc, server_words), status=status, retryable=retryable,
                    headers=exc.response.headers) from None  # fmt: skip
    except sdk.APIResponseValidationError as exc:
        raise error(f"malformed response from the server: {exc.message}") from None
    except json.JSONDecodeError as exc:  # the SDKs let a body that is not JSON surface as a decode error
        raise error(f"malformed response from the server: the body is not valid JSON ({exc})") from None


async def post_json(
    sdk: Any,
    client: Any,
    path: str,
    body: dict[str, Any],
    *,
    timeout: float,
    client_timeout: float,
    provider: str,
    model: str,
    server_words: ServerWords,
) -> Any:
    """POST ``body`` as is through an SDK client: the reply's parsed JSON, or the text of a non-JSON body.

    ``client.post`` is the SDKs' documented way to send a body unchanged. It keeps the client's
    auth, headers, timeouts and exceptions, but skips the typed ``create()`` path's argument
    transform and pydantic reply models: ~30% of the SDK's CPU per call (benchmarks/README.md).
    """
    # Per-call options cost the SDK a copy of its settings: pass them only when they differ.
    options: Any = {"timeout": timeout} if timeout != client_timeout else {}
    return await guarded(
        sdk,
        client.post(path, body=body, cast_to=object, options=options),
        provider=provider, model=model, base_url=str(client.base_url), timeout=timeout, server_words=server_words,
    )  # fmt: skip


def provider_error(
    provider: str,
    model: str,
    message: str,
    *,
    status: int | None = None,
    retryable: bool = False,
    headers: Any = None,
) -> ProviderError:
    header_map = dict(headers) if headers is not None else {}
    error = ProviderError(
        provider, model, message, status=status, retryable=retryable, retry_after=parse_retry_after(header_map)
    )
    error.headers = header_map  # type: ignore[attr-defined]
    return error


def status_message(exc: Any, server_words: ServerWords) -> str:
    """The server's own words from the error body (each API words it its own way, and so do the servers
    in front of models: FastAPI's ``detail``, a bare ``error`` string), else the SDK's and the raw body."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        words = server_words(body) or _common_words(body)
        if words:
            return words
    message = str(getattr(exc, "message", exc))
    if isinstance(body, (dict, list)):  # JSON nobody recognised: show it rather than "Error code: 422"
        body = json.dumps(body, ensure_ascii=False)
    if isinstance(body, str) and body.strip():  # e.g. a proxy's HTML error page
        message += f" - {clip(' '.join(body.split()), 200)}"
    return message


def _common_words(body: dict[str, Any]) -> str | None:
    """``{"detail": "..."}``, ``{"detail": [{"msg": ..., "loc": [...]}]}`` (FastAPI, transformers serve) and
    ``{"error": "..."}``."""
    detail = body.get("detail")
    if isinstance(detail, str) and detail.strip():
        return detail.strip()
    if isinstance(detail, list):
        parts = []
        for entry in detail:
            if isinstance(entry, dict) and entry.get("msg"):
                loc = entry.get("loc")
                where_ = ".".join(map(str, loc)) if isinstance(loc, list) and loc else ""
                parts.append(f"{entry['msg']} ({where_})" if where_ else str(entry["msg"]))
        if parts:
            return "; ".join(parts)
    error = body.get("error")
    if isinstance(error, str) and error.strip():
        return error.strip()
    return None


def where(base_url: str) -> str:
    """scheme://host:port of a server, without user info ([::1] keeps its brackets)."""
    url = urlsplit(base_url)
    return f"{url.scheme}://{url.netloc.rpartition('@')[2]}"


def token_count(value: Any) -> int | None:
    """A usage count from a reply body: an int, else unknown (never a bool, which JSON parsing keeps apart)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def api_key(model: ModelConfig, *, env_default: str, keyless: bool, hint: str) -> str:
    """The key from ``api_key_env`` (else ``env_default``); ``keyless`` servers get a placeholder instead."""
    env_name = model.api_key_env or env_default
    key = os.environ.get(env_name)
    if key:
        return key
    if model.api_key_env or not keyless:
        raise ConfigError(f"model {model.name!r} ({model.provider}) needs an API key: export {env_name}=...{hint}")
    return "not-needed"  # a local server ignores the key, but the SDK requires one


def server_words(body: dict[str, Any], *, typed: bool = False) -> str | None:
    """The ``error.message`` of an error body (or of the body itself); ``typed``: prefixed by its ``type``."""
    error = body.get("error", body)
    if not (isinstance(error, dict) and error.get("message")):
        return None
    kind = error.get("type")
    return f"{kind}: {error['message']}" if typed and isinstance(kind, str) and kind else str(error["message"])
