"""Model configuration: ``[tool.promptcheck.model.NAME]`` tables and ``--pc-model NAME=SPEC`` into ``ModelConfig``.

Also ``interpolate``, which fills ``${ENV}`` references when a model is used (never at load, so the
configured identity of a model, and its cache keys, do not depend on the environment). The rest of
``[tool.promptcheck]`` and the precedence rule are in ``config.py``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import config_clouds
from . import config_values as check
from .errors import ConfigError

_ENV_REF = check.ENV_REF
_MODEL_KEYS = {
    "provider", "model", "path", "adapter", "function", "base_url", "api_key_env", "params", "price",
    "concurrency", "batch_size", "timeout", "options", "device", "dtype", "chat_template", "tool_parser",
    "batch", "api",
}  # fmt: skip
_APIS = ("chat", "responses")  # an openai model's `api`: Chat Completions or the Responses API
_SECRET_KEYS = {"api_key", "apikey", "key", "token", "secret", "password", "authorization"}
# ``--pc-model NAME=SPEC`` prefixes and the field each fills.
_SPEC_PREFIXES = {"hf": "transformers", "transformers": "transformers", "openai": "openai",
                  "anthropic": "anthropic", "python": "python"}  # fmt: skip


def interpolate(value: str, *, environ: Mapping[str, str] | None = None, what: str = "value") -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}`` from the environment; an unset VAR without default is an error."""
    env = os.environ if environ is None else environ
    check.refs(value, what)

    def _sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"{what} needs the environment variable {name}, which is not set; export {name}=...")

    return _ENV_REF.sub(_sub, value)


@dataclass(frozen=True)
class ModelConfig:
    """One configured model. String fields may hold ``${ENV}`` references, resolved when the model is used."""

    name: str
    provider: str
    model: str | None = None
    path: str | None = None
    adapter: str | None = None
    function: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    price: dict[str, float] | None = None
    concurrency: int | None = None
    batch_size: int | None = None
    timeout: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    source: str = "config"
    batch: bool | None = None  # through the provider's batch API (calls/batch.py); None: as --pc-batch says

    def resolved(self, field_name: str) -> str | None:
        """A string field with ``${ENV}`` references filled in (raises ConfigError when one is unset)."""
        raw = getattr(self, field_name)
        if raw is None:
            return None
        return interpolate(str(raw), what=f"model {self.name!r} {field_name}") or None

    def describe(self) -> str:
        """What is configured to be served: ``transformers:path (+adapter)``, ``openai:gpt-4o`` (``${ENV}`` as written:
        the identity of calls and cache keys, stable whatever the environment)."""
        target = self.model or self.path or self.function or "?"
        return f"{self.provider}:{target}" + (f" + adapter {self.adapter}" if self.adapter else "")

    def resolved_or_raw(self, field_name: str) -> str | None:
        """The field with ``${ENV}`` filled in, or as written when a variable is unset."""
        try:
            return self.resolved(field_name)
        except ConfigError:
            return getattr(self, field_name)

    def describe_resolved(self) -> str:
        """What is served, with ``${ENV}`` filled in: for records and failure headers."""
        target = (
            self.resolved_or_raw("model") or self.resolved_or_raw("path") or self.resolved_or_raw("function") or "?"
        )
        adapter = self.resolved_or_raw("adapter")
        return f"{self.provider}:{target}" + (f" + adapter {adapter}" if adapter else "")


def parse_model_spec(spec: str, *, existing: Mapping[str, ModelConfig], cwd: Path) -> tuple[str, ModelConfig]:
    """Parse ``NAME=PROVIDER:TARGET`` (``hf:PATH``, ``openai:MODEL``, ``anthropic:MODEL``, ``python:mod:func``).

    ``openai:MODEL@URL`` and ``anthropic:MODEL@URL`` (URL starting http:// or https://) also set the
    base URL, so a model can be pointed at a local server from the command line (no key needed).
    For an existing model only what is served changes; params, price, concurrency and batch_size stay,
    so both sides of a comparison keep identical generation settings.
    """
    name, sep, target = spec.partition("=")
    prefix, colon, rest = target.partition(":")
    if not sep or not name or not colon or not rest:
        raise ConfigError(
            f"--pc-model {spec!r}: expected NAME=PROVIDER:TARGET, e.g. tuned=hf:./ckpt, "
            "gpt=openai:gpt-4o-mini, rules=python:myapp.llm:generate"
        )
    provider = _SPEC_PREFIXES.get(prefix, prefix)
    served: dict[str, Any] = {"provider": provider, "model": None, "path": None, "adapter": None, "function": None}
    if provider == "transformers":
        served.update(_hf_target(rest, cwd, spec))
    elif provider == "python":
        served["function"] = rest
    else:
        model, at, url = rest.rpartition("@")
        if at and model and url.startswith(("http://", "https://")):  # model ids may hold "@" themselves
            served.update(model=model, base_url=url)
        else:
            served["model"] = rest
    old = existing.get(name)
    if old is None:
        return name, ModelConfig(name=name, source=f"--pc-model {spec}", **served)
    if old.provider != provider:
        served.update(base_url=served.get("base_url"), api_key_env=None, options={})
    return name, replace(old, source=f"--pc-model {spec}", **served)


def _hf_target(raw: str, cwd: Path, spec: str) -> dict[str, Any]:
    path = (cwd / raw).resolve()
    adapter_config = path / "adapter_config.json"
    if not adapter_config.is_file():
        return {"path": str(path)}
    try:
        base = json.loads(adapter_config.read_text(encoding="utf-8"))["base_model_name_or_path"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"--pc-model {spec!r}: {adapter_config} has no usable base_model_name_or_path ({exc})"
        ) from None
    base_path = (path / base).resolve() if not Path(base).is_absolute() else Path(base)
    return {"path": str(base_path) if base_path.exists() else base, "adapter": str(path)}


def models_from_table(value: Any, root: Path, source: str, file: str) -> dict[str, ModelConfig]:
    if isinstance(value, list):
        raise ConfigError(
            f"{file}: [tool.promptcheck] model must be a table of named models, got a list; "
            "write one [tool.promptcheck.model.NAME] section per model"
        )
    check.table(value, f"{file}: [tool.promptcheck] model")
    return {name: _model_from_table(name, spec, root, source, file) for name, spec in value.items()}


def _model_from_table(name: str, spec: Any, root: Path, source: str, file: str) -> ModelConfig:
    where = f"{source} model {name!r}"
    if isinstance(spec, list):
        raise ConfigError(
            f"{file}: [[tool.promptcheck.model.{name}]] is an array of tables; "
            f"write [tool.promptcheck.model.{name}] (single brackets), one section per model"
        )
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a table like [tool.promptcheck.model.{name}], got {spec!r}")
    secret = {k for k in spec if k.lower() in _SECRET_KEYS and not _ENV_REF.fullmatch(str(spec[k]))}
    if secret:
        raise ConfigError(
            f"{where}: {', '.join(sorted(secret))} must not be written in the config; secrets only come from "
            'the environment: set api_key_env = "MY_KEY_VAR" and export MY_KEY_VAR'
        )
    valid = _MODEL_KEYS | set(config_clouds.KEYS)
    unknown = set(spec) - valid - _SECRET_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {', '.join(sorted(map(repr, unknown)))}; valid keys: {', '.join(sorted(valid))}"
        )
    if "provider" not in spec:
        raise ConfigError(f"{where}: missing `provider` (e.g. openai, anthropic, transformers, python)")
    check.model_table(spec, f"{file}: [tool.promptcheck.model.{name}]")
    config_clouds.check_keys(spec, f"{file}: [tool.promptcheck.model.{name}]")
    if "api" in spec and (spec["api"] not in _APIS or spec["provider"] != "openai"):
        got = f"{spec['api']!r}" if spec["provider"] == "openai" else f"{spec['api']!r} (provider {spec['provider']!r})"
        raise ConfigError(f"{where}: api = {got}; `api` is for openai models: one of {', '.join(map(repr, _APIS))}")
    paths = {k: str((root / spec[k]).resolve()) if spec.get(k) and not _ENV_REF.search(str(spec[k])) else spec.get(k)
             for k in ("path", "adapter")}  # fmt: skip
    return ModelConfig(
        name=name,
        provider=str(spec["provider"]),
        model=config_clouds.served_model(spec),
        path=paths["path"],
        adapter=paths["adapter"],
        function=spec.get("function"),
        base_url=spec.get("base_url"),
        api_key_env=spec.get("api_key_env"),
        params=dict(spec.get("params", {})),
        price=dict(spec["price"]) if "price" in spec else None,
        concurrency=spec.get("concurrency"),
        batch_size=spec.get("batch_size"),
        timeout=spec.get("timeout"),
        batch=spec.get("batch"),
        options={
            k: spec[k]
            for k in ("device", "dtype", "chat_template", "tool_parser", "api", *config_clouds.KEYS)
            if k in spec
        }
        | dict(spec.get("options", {})),
        source=where,
    )


def check_model_refs(model: ModelConfig, what: str) -> None:
    for key in check.REF_FIELDS:
        value = getattr(model, key)
        if isinstance(value, str):
            check.refs(value, f"{what} {key}")
