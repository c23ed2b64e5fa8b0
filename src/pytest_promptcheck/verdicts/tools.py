"""Tool-call assertions: ``tool_call``, ``not_tool_call``, ``no_tool_calls``.

- ``tool_call: {name, args, args_schema, count}``: some call has that name, its arguments contain
  ``args`` (a subset match: nested mappings by key, lists and scalars equal as in ``json_path``;
  a string value may name the case's vars, ``"{{ city }}"``) and validate against ``args_schema``;
  ``count`` is the exact number of calls with that name. ``tool_call: NAME`` is the name alone.
- ``not_tool_call: NAME`` (or a list of names): no call has that name.
- ``no_tool_calls: true`` (bare, too): the answer makes no tool call; ``false``: it makes one.

A failure lists the calls made and, for ``args``, what differs key by key, from the call closest
to the expectation; arguments that are not a JSON object fail naming their raw text. The score is
the share of ``args`` keys the closest call matched, so ``threshold:`` and ``weight`` see partial credit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..providers.base import ToolCall
from ..providers.tool_calls import shown
from ..textutil import outside_refs, plain, short
from .base import AssertionRegistry, BadArgument, CheckContext, Outcome, PrepareContext
from .structure import _equal

_EXAMPLE = "e.g. `- tool_call: {name: get_weather, args: {city: Paris}}`"
_KEYS = ("name", "args", "args_schema", "count")
_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_MAX_SHOWN = 5  # calls listed in a failure


@dataclass(frozen=True)
class ToolCallArg:
    name: str
    args: dict[str, Any] | None
    schema: Any  # a jsonschema validator, or None
    count: int | None


def _prepare_tool_call(arg: Any, _: PrepareContext) -> ToolCallArg:
    if isinstance(arg, str) and arg:
        return ToolCallArg(arg, None, None, None)
    if not isinstance(arg, dict) or not isinstance(arg.get("name"), str) or not arg["name"]:
        raise BadArgument(
            f"`tool_call` needs a tool name or a mapping with `name`, got {short(plain(arg))}; {_EXAMPLE}"
        )
    unknown = [k for k in arg if k not in _KEYS]
    if unknown:
        raise BadArgument(f"`tool_call` has unknown key {', '.join(map(repr, unknown))}; valid: {', '.join(_KEYS)}")
    args = arg.get("args")
    if args is not None and not isinstance(args, dict):
        raise BadArgument(
            f"`tool_call` args must be a mapping of argument values, got {short(plain(args))}; {_EXAMPLE}"
        )
    count = arg.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise BadArgument(f"`tool_call` count must be a whole number (0 or more), got {count!r}")
    return ToolCallArg(arg["name"], plain(args), _schema(arg.get("args_schema")), count)


def _schema(schema: Any) -> Any:
    if schema is None:
        return None
    import jsonschema

    schema = plain(schema)
    if not isinstance(schema, dict):
        raise BadArgument(f"`tool_call` args_schema must be a JSON Schema mapping, got {short(schema)}")
    outside = next(outside_refs(schema), None)
    if outside is not None:  # a $ref to a URL or a file would be fetched while judging
        raise BadArgument(f"`tool_call` args_schema refers to {outside!r}; only refs inside it (`#/...`) are allowed")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise BadArgument(f"`tool_call` args_schema is not a valid JSON Schema: {exc.message}") from None
    return jsonschema.Draft202012Validator(schema)


def tool_call(_output: str, arg: ToolCallArg, context: CheckContext) -> Outcome:
    calls = context.completion.tool_calls
    named = [c for c in calls if c.name == arg.name]
    head = f"tool_call {arg.name}"
    if arg.count is not None and len(named) != arg.count:
        return _fail(f"{head}: {len(named)} calls, expected count {arg.count} ({_made(calls, context)})")
    if not named:
        if arg.count == 0:
            return Outcome(True, 1.0, f"no call to {arg.name}")
        return _fail(f"{head}: no call to {arg.name} ({_made(calls, context)})")
    if arg.args is None and arg.schema is None:
        return Outcome(True, 1.0, f"called {shown(named[0])}")
    readable = [c for c in named if c.error is None]
    if not readable:
        bad = named[0]
        return _fail(f"{head}: malformed arguments, {bad.error}: raw text {short(bad.raw_arguments, 200)}")
    try:
        wanted = _filled(arg.args or {}, context.vars)
    except KeyError as exc:
        return _fail(f"{head}: args name var {exc.args[0]!r}, which the case does not define; add it to `vars`")
    best: tuple[float, list[str], ToolCall] | None = None
    for call in readable:
        differences = _differences(wanted, call.arguments)
        differences += _schema_errors(arg.schema, call.arguments)
        score = 1.0 - (len(differences) / max(len(wanted) + (arg.schema is not None), 1))
        if not differences:
            return Outcome(True, 1.0, f"called {shown(call)}")
        if best is None or score > best[0]:
            best = (max(score, 0.0), differences, call)
    assert best is not None
    return Outcome(False, best[0], f"{head}: args differ: {'; '.join(best[1])} ({_made(calls, context)})")


def not_tool_call(_output: str, names: tuple[str, ...], context: CheckContext) -> Outcome:
    called = [c for c in context.completion.tool_calls if c.name in names]
    if called:
        return _fail(f"not_tool_call {', '.join(names)}: called {', '.join(shown(c) for c in called[:_MAX_SHOWN])}")
    return Outcome(True, 1.0, f"no call to {', '.join(names)}")


def no_tool_calls(_output: str, want: bool, context: CheckContext) -> Outcome:
    calls = context.completion.tool_calls
    if want and calls:
        return _fail(f"no_tool_calls: {_made(calls, context)}")
    if not want and not calls:
        return _fail(f"no_tool_calls false: the answer made no tool call ({_made(calls, context)})")
    return Outcome(True, 1.0, _made(calls, context))


def _prepare_names(arg: Any, _: PrepareContext) -> tuple[str, ...]:
    names = [arg] if isinstance(arg, str) else arg
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise BadArgument(f"`not_tool_call` needs a tool name or a list of names, got {short(plain(arg))}; "
                          "e.g. `- not_tool_call: get_forecast`")  # fmt: skip
    return tuple(names)


def _prepare_flag(arg: Any, _: PrepareContext) -> bool:
    if arg is None:
        return True
    if not isinstance(arg, bool):
        raise BadArgument(f"`no_tool_calls` takes true or false, got {arg!r}; e.g. `- no_tool_calls: true`")
    return arg


def _differences(wanted: dict[str, Any], got: Any, prefix: str = "") -> list[str]:
    """``key: expected 'Paris', got 'Lyon'`` for each expected key the arguments do not match."""
    if not isinstance(got, dict):
        return [f"{prefix or 'arguments'}: expected a mapping, got {short(got, 80)}"]
    found = []
    for key, want in wanted.items():
        where = f"{prefix}{key}"
        if key not in got:
            found.append(f"{where}: expected {short(want, 80)}, missing")
        elif isinstance(want, dict):
            found.extend(_differences(want, got[key], f"{where}."))
        elif not _same(got[key], want):
            found.append(f"{where}: expected {short(want, 80)}, got {short(got[key], 80)}")
    return found


def _same(value: Any, want: Any) -> bool:
    if isinstance(want, list):
        return isinstance(value, list) and len(value) == len(want) and all(map(_same, value, want))
    return _equal(value, want)


def _schema_errors(validator: Any, arguments: Any) -> list[str]:
    if validator is None:
        return []
    error = next(iter(validator.iter_errors(arguments)), None)
    if error is None:
        return []
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return [f"args_schema at ${where}: {error.message}"]


def _filled(value: Any, variables: dict[str, Any]) -> Any:
    """``args`` with the case's vars filled in: ``"{{ x }}"`` alone is the var's value, inside text its text."""
    if isinstance(value, dict):
        return {k: _filled(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, variables) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    whole = _VAR.fullmatch(value.strip())
    if whole:
        return variables[whole.group(1)]
    return _VAR.sub(lambda m: str(variables[m.group(1)]), value)


def _made(calls: tuple[ToolCall, ...], context: CheckContext) -> str:
    if not calls:
        return f"no tool calls; the output was {short(context.completion.output, 120)}"
    listed = ", ".join(shown(c) for c in calls[:_MAX_SHOWN])
    more = f" and {len(calls) - _MAX_SHOWN} more" if len(calls) > _MAX_SHOWN else ""
    return f"calls made: {listed}{more}"


def _fail(reason: str) -> Outcome:
    return Outcome(False, 0.0, reason)


def register(registry: AssertionRegistry) -> None:
    registry.register("tool_call", tool_call, prepare=_prepare_tool_call, example=_EXAMPLE)
    registry.register("not_tool_call", not_tool_call, prepare=_prepare_names, example="`- not_tool_call: get_forecast`")
    registry.register("no_tool_calls", no_tool_calls, prepare=_prepare_flag, arg="optional")
