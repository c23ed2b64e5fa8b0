"""Type and range checks for configuration values, wherever they are written.

``[tool.promptcheck]`` (TOML: typed values), ``promptcheck_*`` ini keys (always strings: a numeric
string is converted, then checked like a number) and ``--pc-*`` options (:func:`option_type`, an
argparse ``type=``) share these checks, so one wrong value reads the same wherever it was written:
``<where> must be <what>, got <value>``. ``where`` names the file and key path
(``pyproject.toml: [tool.promptcheck.model.tuned] concurrency``) or the option (``--pc-timeout``).

A bool is never a number here, although Python's ``True`` is an ``int``: ``concurrency = true`` is a
mistake, not 1.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")
_WHOLE = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")  # ${NAME} or ${NAME:-default}
REF_FIELDS = ("model", "path", "adapter", "function", "base_url")  # the fields ``ModelConfig.resolved`` fills
TEXT_FIELDS = (*REF_FIELDS, "device", "dtype", "chat_template", "tool_parser")
_PRICE_KEYS = ("input_per_mtok", "output_per_mtok", "batch_discount")
BATCH_PROVIDERS = ("openai", "anthropic")  # the providers with a batch API (calls/batch.py)
# providers/_hf_load.py's ``_DTYPES`` names and "auto" (not imported: that module imports the config)
_DTYPES = ("auto", "float32", "fp32", "bfloat16", "bf16", "float16", "fp16")
_REF_FIX = "write ${NAME} or ${NAME:-default}"


def fail(where: str, what: str, value: Any) -> ConfigError:
    """The one error shape: ``<where> must be <what>, got <value>``."""
    shown = value if isinstance(value, str) and _NUMBER.fullmatch(value.strip()) else repr(value)
    return ConfigError(f"{where} must be {what}, got {shown}")


def whole(value: Any, where: str, *, least: int | None = None) -> int:
    """An integer (or an ini string holding one), at least ``least``."""
    given = value
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        value = int(value)
    what = "a whole number" + (f" of at least {least}" if least is not None else "")
    if isinstance(value, bool) or not isinstance(value, int) or (least is not None and value < least):
        raise fail(where, what, given)
    return value


def number(
    value: Any,
    where: str,
    *,
    unit: str = "",
    above: float | None = None,
    least: float | None = None,
    below: float | None = None,
    most: float | None = None,
) -> float:
    """A finite number (or an ini string holding one) inside the given bounds."""
    given = value
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        value = float(value)
    bounds = [f"above {above:g}" if above is not None else "", f"of at least {least:g}" if least is not None else "",
              f"below {below:g}" if below is not None else "", f"at most {most:g}" if most is not None else ""]  # fmt: skip
    what = " ".join(filter(None, ["a number", f"of {unit}" if unit else "", " and ".join(filter(None, bounds))]))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise fail(where, what, given)
    out = float(value)
    if (
        (above is not None and out <= above)
        or (least is not None and out < least)
        or (below is not None and out >= below)
        or (most is not None and out > most)
    ):
        raise fail(where, what, given)
    return out


def seconds(value: Any, where: str) -> float:
    """A timeout: a number of seconds above 0."""
    return number(value, where, unit="seconds", above=0)


def text(value: Any, where: str, *, what: str = "a string") -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise fail(where, what, value)
    return value


def env_name(value: Any, where: str) -> str:
    """The name of an environment variable (``OPENAI_API_KEY``), not its value."""
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise fail(where, "the name of an environment variable (letters, digits and _, e.g. OPENAI_API_KEY)", value)
    return value


def table(value: Any, where: str) -> dict[str, Any]:
    """A TOML table (``key = {...}`` or a ``[section]``)."""
    if not isinstance(value, dict):
        raise fail(where, "a table (key = { ... } or its own [section])", value)
    return value


def option_type(flag: str, check: Callable[[Any, str], T]) -> Callable[[str], T]:
    """An argparse ``type=`` for ``flag``: a bad value is a usage error naming the flag (pytest exits 4)."""

    def convert(raw: str) -> T:
        try:
            return check(raw, flag)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = flag  # argparse names the type in some messages
    return convert


def refs(value: str, what: str) -> None:
    """Every ``${`` in ``value`` must open a well-formed reference: a typo is an error, not literal text."""
    start = value.find("${")
    while start != -1:
        found = ENV_REF.match(value, start)
        if found is None:
            end = value.find("}", start)
            if end == -1:
                problem = f"`{value[start:]}` is not closed"
            elif not value[start + 2 : end].partition(":-")[0]:
                problem = f"`{value[start : end + 1]}` names no variable"
            else:
                name = value[start + 2 : end].partition(":-")[0]
                problem = f"`{value[start : end + 1]}`: {name!r} is not a variable name (letters, digits, _)"
            raise ConfigError(f"{what}: {problem}; {_REF_FIX}")
        start = value.find("${", found.end())


def model_table(spec: Mapping[str, Any], where: str) -> None:
    """Each value of one ``[tool.promptcheck.model.NAME]`` table (``where`` names it) has its type and range."""
    text(spec["provider"], f"{where} provider", what="a provider name (openai, anthropic, transformers, python)")
    for key in TEXT_FIELDS:
        if key in spec:
            text(spec[key], f"{where} {key}")
    for key in REF_FIELDS:
        if key in spec:
            refs(spec[key], f"{where} {key}")
    if spec.get("dtype", "auto") not in _DTYPES:
        raise fail(f"{where} dtype", "one of " + ", ".join(_DTYPES), spec["dtype"])
    if "api_key_env" in spec:
        env_name(spec["api_key_env"], f"{where} api_key_env")
    for key in ("concurrency", "batch_size"):
        if key in spec:
            whole(spec[key], f"{where} {key}", least=1)
    if "timeout" in spec:
        seconds(spec["timeout"], f"{where} timeout")
    if "options" in spec:
        table(spec["options"], f"{where} options")
    if "params" in spec:
        params(table(spec["params"], f"{where} params"), f"{where} params")
    if "price" in spec:
        price = table(spec["price"], f"{where} price")
        unknown = sorted(set(price) - set(_PRICE_KEYS))
        if unknown:
            raise ConfigError(
                f"{where} price: unknown key {', '.join(map(repr, unknown))}; valid: {', '.join(_PRICE_KEYS)}"
            )
        for key, value in price.items():
            if key == "batch_discount":
                discount(value, f"{where} price.{key}")
            else:
                number(value, f"{where} price.{key}", unit="USD per million tokens", least=0)
    if "batch" in spec:
        batch(spec["batch"], spec["provider"], f"{where} batch")


def discount(value: Any, where: str) -> float:
    """``price.batch_discount``: the share of the price a batched call saves, 0 to 1 (0.5: half price)."""
    try:
        return number(value, where, least=0, most=1)
    except ConfigError:
        raise fail(where, "the share of the price a batched call saves, from 0 to 1 (0.5: half price)", value) from None


def batch(value: Any, provider: Any, where: str) -> None:
    """``batch = true`` only where a batch API exists (a python or transformers model has none)."""
    if not isinstance(value, bool):
        raise fail(where, "true or false", value)
    if value and provider not in BATCH_PROVIDERS:
        raise ConfigError(
            f"{where}: provider {provider!r} has no batch API (batch mode serves {', '.join(BATCH_PROVIDERS)}); "
            "remove `batch = true`: this model is called directly"
        )


def params(values: Mapping[str, Any], where: str) -> None:
    """The generation params every provider knows have their types and ranges; other names pass through."""
    for key, value in values.items():
        at = f"{where}.{key}"
        if key == "temperature":
            number(value, at, least=0)
        elif key == "top_p":
            number(value, at, above=0, most=1)
        elif key in ("max_tokens", "max_new_tokens"):
            whole(value, at, least=1)
        elif key in ("top_k", "min_new_tokens"):
            whole(value, at, least=0)
        elif key == "seed":
            whole(value, at)
        elif key == "timeout":
            seconds(value, at)
        elif key == "do_sample" and not isinstance(value, bool):
            raise fail(at, "true or false", value)
        elif key in ("stop", "stop_sequences") and not (
            isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            raise fail(at, "a string or a list of strings", value)
