"""Text assertions: equals, contains, icontains, contains_all, contains_any, starts_with, regex, length.

Every one of them also has a ``not_<name>`` form (see the registry).
"""

from __future__ import annotations

import re
from typing import Any

from .base import AssertionRegistry, BadArgument, CheckContext, Outcome, PrepareContext


def _is_text(value: Any) -> bool:
    """A string, or a number YAML read from an unquoted scalar (``contains: 42``); not a bool/null."""
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _text_arg(name: str) -> Any:
    def prepare(arg: Any, _: PrepareContext) -> str:
        if not _is_text(arg):
            raise BadArgument(
                f"`{name}` needs a text argument, got {type(arg).__name__} {arg!r}; e.g. `- {name}: refund`"
            )
        return str(arg)

    return prepare


def _list_arg(name: str) -> Any:
    def prepare(arg: Any, _: PrepareContext) -> list[str]:
        if not isinstance(arg, list) or not arg or not all(_is_text(v) for v in arg):
            raise BadArgument(
                f"`{name}` needs a non-empty list of texts, got {arg!r}; e.g. `- {name}: [refund, billing]`"
            )
        return [str(v) for v in arg]

    return prepare


def equals(output: str, expected: str, _: CheckContext) -> Outcome:
    ok = output.strip() == expected.strip()
    return Outcome(ok, float(ok), "" if ok else "output differs", expected, output, diff=not ok)


def contains(output: str, needle: str, _: CheckContext) -> Outcome:
    ok = needle in output
    return Outcome(ok, float(ok), "" if ok else f"{needle!r} not found", needle, output)


def icontains(output: str, needle: str, _: CheckContext) -> Outcome:
    ok = needle.casefold() in output.casefold()
    return Outcome(ok, float(ok), "" if ok else f"{needle!r} not found (ignoring case)", needle, output)


def contains_all(output: str, needles: list[str], _: CheckContext) -> Outcome:
    missing = [n for n in needles if n not in output]
    score = 1 - len(missing) / len(needles)
    return Outcome(not missing, score, f"missing {missing!r}" if missing else "", needles, output)


def contains_any(output: str, needles: list[str], _: CheckContext) -> Outcome:
    ok = any(n in output for n in needles)
    return Outcome(ok, float(ok), "" if ok else f"none of {needles!r} found", needles, output)


def starts_with(output: str, prefix: str, _: CheckContext) -> Outcome:
    start = output.lstrip()
    ok = start.startswith(prefix)
    return Outcome(ok, float(ok), "" if ok else f"does not start with {prefix!r}", prefix, start[: len(prefix) + 20])


def _prepare_regex(arg: Any, _: PrepareContext) -> re.Pattern[str]:
    if not isinstance(arg, str):
        raise BadArgument(f"`regex` needs a pattern string, got {arg!r}; e.g. `- regex: '\\\\d{{3}}'`")
    try:
        return re.compile(arg)
    except re.error as exc:
        raise BadArgument(f"`regex` {arg!r} is not a valid regular expression: {exc}") from None


def regex(output: str, pattern: re.Pattern[str], _: CheckContext) -> Outcome:
    ok = pattern.search(output) is not None
    return Outcome(ok, float(ok), "" if ok else f"no match for /{pattern.pattern}/", pattern.pattern, output)


def _prepare_length(arg: Any, _: PrepareContext) -> dict[str, Any]:
    if isinstance(arg, int) and not isinstance(arg, bool):
        arg = {"max": arg}
    if not isinstance(arg, dict) or not ({"min", "max"} & set(arg)) or set(arg) - {"min", "max", "unit"}:
        raise BadArgument(f"`length` needs {{min, max, unit}}, got {arg!r}; e.g. `- length: {{max: 200, unit: chars}}`")
    if arg.get("unit", "chars") not in ("chars", "tokens"):
        raise BadArgument(f"`length` unit must be 'chars' or 'tokens', got {arg['unit']!r}")
    for key in ("min", "max"):
        if key in arg and (isinstance(arg[key], bool) or not isinstance(arg[key], int) or arg[key] < 0):
            raise BadArgument(f"`length` {key} must be a non-negative integer, got {arg[key]!r}")
    if arg.get("min", 0) > arg.get("max", arg.get("min", 0)):
        raise BadArgument(f"`length` min {arg['min']} is greater than max {arg['max']}; nothing can pass")
    return {"unit": "chars", **arg}


def length(output: str, arg: dict[str, Any], context: CheckContext) -> Outcome:
    if arg["unit"] == "tokens":
        size = context.completion.usage.output_tokens
        size = len(output.split()) if size is None else size
    else:
        size = len(output)
    low, high = arg.get("min", 0), arg.get("max")
    ok = size >= low and (high is None or size <= high)
    bounds = f"{low}..{'' if high is None else high}"
    return Outcome(ok, float(ok), "" if ok else f"{size} {arg['unit']} not in {bounds}", bounds, size)


def register(registry: AssertionRegistry) -> None:
    for name, check in (
        ("equals", equals),
        ("contains", contains),
        ("icontains", icontains),
        ("starts_with", starts_with),
    ):
        registry.register(name, check, prepare=_text_arg(name), example=f"`- {name}: refund`")
    for name, list_check in (("contains_all", contains_all), ("contains_any", contains_any)):
        registry.register(name, list_check, prepare=_list_arg(name), example=f"`- {name}: [refund, billing]`")
    registry.register("regex", regex, prepare=_prepare_regex, example="`- regex: '^\\{'`")
    registry.register("length", length, prepare=_prepare_length, example="`- length: {max: 200}`")
