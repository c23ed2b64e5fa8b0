"""Structure assertions: is_json (also inside a ```json fence), json_schema, json_path."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..providers.tool_calls import tool_document
from ..textutil import outside_refs
from .base import AssertionRegistry, BadArgument, CheckContext, Outcome, PrepareContext

_FENCE = re.compile(r"```(?:json)?[ \t]*\n(.*?)\n?```", re.DOTALL | re.IGNORECASE)
_JSON_PATH_OPS = ("equals", "contains", "regex", "in", "exists")
_NOT_JSON = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str) -> Any:
    """Strict JSON: Python's ``json`` would accept NaN and Infinity, which JSON does not have."""
    return json.loads(text, parse_constant=_reject_constant)


def _parse(output: str) -> tuple[Any, str]:
    """(the JSON value or ``_NOT_JSON``, why not): the bare output, else its first ```json block."""
    try:
        return _loads(output.strip()), ""
    except ValueError as exc:
        error = f"output is not JSON: {exc}"
    match = _FENCE.search(output)
    if match:
        try:
            return _loads(match.group(1)), ""
        except ValueError as exc:
            error = f"output is not JSON (in the ```json block): {exc}"
    return _NOT_JSON, error


def parse_json(output: str) -> Any:
    """The JSON value of an output (bare, or the first ```json fenced block), else ``_NOT_JSON``."""
    return _parse(output)[0]


def is_json(output: str, _arg: Any, _: CheckContext) -> Outcome:
    value, error = _parse(output)
    if value is _NOT_JSON:
        return Outcome(False, 0.0, error, "valid JSON", output)
    return Outcome(True, 1.0)


def _prepare_schema(arg: Any, context: PrepareContext) -> Any:
    import jsonschema

    if isinstance(arg, dict):
        schema = arg
    elif isinstance(arg, str):
        path = (context.suite_dir / arg).resolve()
        key = ("json_schema", path)
        if key not in context.cache:
            context.cache[key] = _read_schema(path, arg, context)
        schema = context.cache[key]
    else:
        raise BadArgument(f"`json_schema` needs a schema file path or an inline schema mapping, got {arg!r}")
    outside = next(outside_refs(schema), None)
    if outside is not None:  # jsonschema resolves none of them: a remote ref would fail every check
        raise BadArgument(
            f"`json_schema`: `$ref` {outside!r} points outside the schema; only refs inside it (`#/...`) "
            "are resolved: copy the referenced schema in under `$defs`"
        )
    try:
        validator_cls = jsonschema.validators.validator_for(schema)
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise BadArgument(f"`json_schema` is not a valid JSON Schema: {exc.message}") from None
    return validator_cls(schema)


def _read_schema(path: Path, raw: str, context: PrepareContext) -> Any:
    from ..suites.files import SuiteFileError, read_suite_file
    from ..suites.limits import SuitePolicy

    policy = context.policy or SuitePolicy.nearest(context.suite_dir / "suite")
    try:
        data = read_suite_file(path, policy, what="`json_schema` file", ref=raw)
    except SuiteFileError as exc:
        if exc.missing:
            raise BadArgument(
                f"`json_schema` file {raw!r} not found (looked for {path}); paths are relative to the suite"
            ) from None
        raise BadArgument(str(exc)) from None
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise BadArgument(f"`json_schema` file {raw!r} is not valid JSON: {exc}") from None


def json_schema(output: str, validator: Any, _: CheckContext) -> Outcome:
    value, error = _parse(output)
    if value is _NOT_JSON:
        return Outcome(False, 0.0, error, "JSON matching the schema", output)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return Outcome(True, 1.0)
    first = errors[0]
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path)
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    expected = {first.validator: first.validator_value}  # the rule broken, not the whole (sub)schema
    return Outcome(False, 0.0, f"{first.message}{more}", expected, first.instance, path=where)


def _prepare_json_path(arg: Any, _: PrepareContext) -> dict[str, Any]:
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext import parse

    example = "e.g. `- json_path: {path: '$.category', equals: billing}`"
    if not isinstance(arg, dict) or "path" not in arg:
        raise BadArgument(f"`json_path` needs a mapping with `path` and one of {', '.join(_JSON_PATH_OPS)}; {example}")
    ops = [k for k in arg if k != "path"]
    if len(ops) != 1 or ops[0] not in _JSON_PATH_OPS:
        raise BadArgument(
            f"`json_path` needs exactly one of {', '.join(_JSON_PATH_OPS)} besides `path`, got {ops}; {example}"
        )
    op = ops[0]
    try:
        compiled = parse(str(arg["path"]))
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        raise BadArgument(f"`json_path` path {arg['path']!r} is not valid JSONPath: {exc}") from None
    value = arg[op]
    if op == "regex":
        try:
            value = re.compile(str(value))
        except re.error as exc:
            raise BadArgument(f"`json_path` regex {value!r} is not valid: {exc}") from None
    if op == "in" and not isinstance(value, list):
        raise BadArgument(f"`json_path` `in` needs a list, got {value!r}")
    if op == "exists" and not isinstance(value, bool):
        raise BadArgument(f"`json_path` `exists` needs true or false, got {value!r}")
    return {"path": str(arg["path"]), "compiled": compiled, "op": op, "value": value}


def json_path(output: str, arg: dict[str, Any], context: CheckContext) -> Outcome:
    path, op, want = arg["path"], arg["op"], arg["value"]
    if path.startswith("$.tool_calls"):  # the answer's tool calls, not its text (providers/tool_calls.py)
        data, error = tool_document(context.completion.tool_calls), ""
    else:
        data, error = _parse(output)
    shown = want.pattern if isinstance(want, re.Pattern) else want
    if data is _NOT_JSON:
        return Outcome(False, 0.0, error, shown, output, path=path)
    matches = [m.value for m in arg["compiled"].find(data)]
    if op == "exists":
        ok = bool(matches) == bool(want)
        return Outcome(
            ok, float(ok), "" if ok else ("no value at path" if want else "path exists"), shown, matches, path=path
        )
    if not matches:
        return Outcome(False, 0.0, "no value at path", shown, None, path=path)
    got = matches[0] if len(matches) == 1 else matches
    ok = any(_matches(op, m, want) for m in matches)
    return Outcome(ok, float(ok), "" if ok or op == "equals" else f"{op} did not match", shown, got, path=path)


def _matches(op: str, value: Any, want: Any) -> bool:
    if op == "equals":
        return _equal(value, want)
    if op == "contains":
        if isinstance(value, list):
            return any(_equal(v, want) for v in value)
        return isinstance(value, str) and _scalar_text(want) in value
    if op == "regex":
        return isinstance(value, str) and want.search(value) is not None
    return any(_equal(value, w) for w in want)


def _equal(value: Any, want: Any) -> bool:
    """JSON equality (``true`` is not ``1``); a JSON string also equals an unquoted YAML scalar (``"5"`` = 5)."""
    if isinstance(value, str) and not isinstance(want, str):
        return value == _scalar_text(want)
    if isinstance(value, bool) or isinstance(want, bool):
        return type(value) is type(want) and value == want
    return bool(value == want)


def _scalar_text(value: Any) -> str:
    """How a YAML scalar reads as JSON text: ``true``, ``null``, ``5``."""
    return value if isinstance(value, str) else json.dumps(value)


def register(registry: AssertionRegistry) -> None:
    registry.register("is_json", is_json, arg="none")
    registry.register(
        "json_schema", json_schema, prepare=_prepare_schema, example="`- json_schema: schemas/triage.json`"
    )
    registry.register(
        "json_path", json_path, prepare=_prepare_json_path, example="`- json_path: {path: '$.a', equals: 1}`"
    )
