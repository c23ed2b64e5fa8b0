"""boto3 for the ``bedrock`` provider: the client (credentials, region, no botocore retries) and its errors.

botocore's own retries are off (``total_max_attempts: 1``): the engine owns retries, backoff and
Retry-After, as for the SDK providers. Its errors become ProviderError the way ``_sdk.py`` maps the
HTTP SDKs': throttling (429), timeouts, dropped connections and 5xx are worth retrying; a
validation or access error is not, and shows the server's own message.
"""

from __future__ import annotations

from typing import Any

from ..config_models import ModelConfig
from ..errors import ConfigError, MissingDependencyError, ProviderError
from ._sdk import provider_error, where

PROVIDER = "bedrock"
# Error codes worth another try whatever the status says (botocore's own retry list, for Bedrock).
_RETRYABLE_CODES = frozenset({
    "ThrottlingException", "TooManyRequestsException", "ServiceUnavailableException", "InternalServerException",
    "ModelNotReadyException", "ModelTimeoutException", "RequestTimeout", "RequestTimeoutException",
})  # fmt: skip
_RETRYABLE_STATUS = frozenset({408, 429})  # and every 5xx
_CREDENTIALS_FIX = (
    "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), set `profile` to a profile "
    "in ~/.aws/config, or run where the usual AWS credential chain finds some"
)


def import_boto3() -> Any:
    try:
        import boto3
        import botocore.config  # noqa: F401  (the client's Config)
    except ImportError:
        raise MissingDependencyError("The Bedrock provider", "bedrock") from None
    return boto3


def session(boto3: Any, model: ModelConfig, *, region: str | None, profile: str | None) -> Any:
    """A boto3 session from the usual AWS chain; a missing profile, region or credentials is a config error."""
    import botocore.exceptions

    name = f"model {model.name!r} (bedrock)"
    try:
        found = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise ConfigError(
            f"{name} profile: no AWS profile {profile!r}; add it to ~/.aws/config or fix `profile`"
        ) from None
    if not found.region_name:
        raise ConfigError(f'{name} needs a region: set `region = "us-east-1"` in its table (or export AWS_REGION)')
    if found.get_credentials() is None:
        raise ConfigError(f"{name} found no AWS credentials: {_CREDENTIALS_FIX}")
    return found


def runtime_client(session: Any, *, endpoint_url: str | None, timeout: float, pool: int) -> Any:
    """A ``bedrock-runtime`` client that makes one attempt per call and waits at most ``timeout`` for an answer."""
    import botocore.config

    config = botocore.config.Config(
        # One attempt in all: botocore's `max_attempts` counts *retries* (1 would still retry once).
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=min(timeout, 10.0),
        read_timeout=timeout,
        max_pool_connections=pool,
        user_agent_extra="pytest-promptcheck",
    )
    return session.client("bedrock-runtime", endpoint_url=endpoint_url, config=config)


def mapped(exc: Exception, *, model: str, endpoint: str, timeout: float) -> ProviderError:
    """``exc``, raised by a boto3 call, as a ProviderError."""
    import botocore.exceptions as errors

    if isinstance(exc, errors.ClientError):
        return _client_error(exc, model)
    if isinstance(exc, (errors.ReadTimeoutError, errors.ConnectTimeoutError)):
        return provider_error(PROVIDER, model, f"no response within {timeout:g} s (timeout)", retryable=True)
    if isinstance(exc, (errors.ConnectionError, errors.HTTPClientError)):
        failed = provider_error(PROVIDER, model, f"connection to {where(endpoint)} failed: {exc}", retryable=True)
        failed.connection = True
        return failed
    if isinstance(exc, (errors.NoCredentialsError, errors.PartialCredentialsError)):
        return provider_error(PROVIDER, model, f"no usable AWS credentials ({exc}): {_CREDENTIALS_FIX}")
    if isinstance(exc, errors.BotoCoreError):  # ParamValidationError and kin: the request itself is wrong
        return provider_error(PROVIDER, model, f"{type(exc).__name__}: {exc}")
    # botocore parses a reply of the wrong shape into whatever exception it trips on (an AttributeError
    # for `{"output": 3}`): the reply was malformed, and asking again would not change it.
    return provider_error(PROVIDER, model, f"malformed response from the server ({type(exc).__name__}: {exc})")


def _client_error(exc: Any, model: str) -> ProviderError:
    """An error answer: status, Bedrock's code and message, and the headers (Retry-After)."""
    response = exc.response if isinstance(exc.response, dict) else {}
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    status = meta.get("HTTPStatusCode")
    status = status if isinstance(status, int) else None
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "") or str(exc)
    retryable = code in _RETRYABLE_CODES or status in _RETRYABLE_STATUS or (status is not None and status >= 500)
    return provider_error(
        PROVIDER, model, f"{code}: {message}" if code else message, status=status, retryable=retryable,
        headers=meta.get("HTTPHeaders") or {},
    )  # fmt: skip
