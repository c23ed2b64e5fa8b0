"""The model keys of the cloud providers (``azure-openai``, ``bedrock``): which provider takes which, and their checks.

They are written in ``[tool.promptcheck.model.NAME]`` beside ``provider`` and kept in the model's
``options`` (like ``device`` and ``dtype``), so the cache key, which covers the options, changes
with them. ``${ENV}`` references are allowed in the text keys and filled in when the provider is
created (``providers/_cloud.option``). What depends on the environment (a key, an endpoint from
``AZURE_OPENAI_ENDPOINT``) is checked there too; what can be checked from the file alone (types,
URL schemes, the shape of a region, a key given to the wrong provider) is checked at config load,
so ``promptcheck lint`` reports it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import config_values as check
from .errors import ConfigError

AZURE = "azure-openai"
BEDROCK = "bedrock"
# key -> the providers that take it
KEYS: dict[str, tuple[str, ...]] = {
    "endpoint": (AZURE,),
    "deployment": (AZURE,),
    "api_version": (AZURE,),
    "azure_ad_token_env": (AZURE,),
    "region": (BEDROCK,),
    "profile": (BEDROCK,),
    "endpoint_url": (BEDROCK,),
}
_URL_KEYS = ("endpoint", "endpoint_url")
_ENV_KEYS = ("azure_ad_token_env",)
# us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5, cn-northwest-1
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")


def check_keys(spec: Mapping[str, Any], where: str) -> None:
    """The cloud keys of one model table (``where`` names it): the right provider, types, schemes, region."""
    provider = spec.get("provider")
    if "endpoint" in spec and "base_url" in spec:
        raise ConfigError(f"{where}: set `endpoint` or `base_url`, not both (they name the same resource)")
    for key in sorted(set(spec) & set(KEYS)):
        at = f"{where} {key}"
        if provider not in KEYS[key]:
            raise ConfigError(f"{at}: only {' and '.join(KEYS[key])} models take `{key}`; remove it from this model")
        if key in _ENV_KEYS:
            check.env_name(spec[key], at)
            continue
        value = check.text(spec[key], at)
        check.refs(value, at)
        if "${" in value:
            continue  # checked once filled in (url / region below run again in the provider)
        if key in _URL_KEYS:
            url(value, at)
        elif key == "region":
            region(value, at)


def served_model(spec: Mapping[str, Any]) -> Any:
    """The table's ``model``; an azure-openai model without one is named by its ``deployment`` (what Azure serves
    under that name), so failure headers and records say ``azure-openai:<deployment>``, not ``azure-openai:?``."""
    if spec.get("model") is None and spec.get("provider") == AZURE:
        return spec.get("deployment")
    return spec.get("model")


def url(value: str, where: str) -> str:
    """An http(s) URL with a host."""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest.split("/")[0]:
        raise check.fail(where, "an http:// or https:// URL (e.g. https://my-resource.openai.azure.com)", value)
    return value


def region(value: str, where: str) -> str:
    """An AWS region name."""
    if not _REGION.fullmatch(value):
        raise check.fail(where, "an AWS region name such as us-east-1 or eu-central-1", value)
    return value
