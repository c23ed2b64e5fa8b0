"""JSON Schema validation of a loaded suite document, with errors turned into ``file:line`` sentences."""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from ..errors import SuiteProblem
from .yamlload import line_of

_TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
    "object": "a mapping", "array": "a list", "null": "null",
}  # fmt: skip


def suite_schema() -> dict[str, Any]:
    """The JSON Schema of the suite format (also usable by editors / yaml-language-server)."""
    return json.loads(resources.files(__package__).joinpath("suite.schema.json").read_text("utf-8"))


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(suite_schema())


def _where(path: tuple[Any, ...], root: str) -> str:
    parts = []
    for part in path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or root


def _kind(value: Any) -> str:
    """How a YAML value reads in a message: ``text 'five'``, ``a list [...]``, ``true``."""
    if isinstance(value, bool) or value is None:
        return repr(value).lower().replace("none", "null")
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, dict):
        return f"a mapping {dict(value)!r}"
    if isinstance(value, list):
        return f"a list {list(value)!r}"
    return f"{'an integer' if isinstance(value, int) else 'a number'} {value!r}"


def _allowed_keys(error: ValidationError) -> list[str]:
    schema = error.schema
    keys = set(schema.get("properties", {}))
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        keys |= set(suite_schema()["$defs"][ref.split("/")[-1]].get("properties", {}))
    return sorted(keys)


def _unknown_keys(error: ValidationError) -> list[str]:
    if error.validator not in ("additionalProperties", "unevaluatedProperties") or not isinstance(error.instance, dict):
        return []
    return sorted(set(error.instance) - set(_allowed_keys(error)), key=str)


def _branch(error: ValidationError) -> ValidationError:
    """For ``oneOf``/``anyOf``: the error inside the branch whose type fits the value (the one meant)."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0], []).append(sub)
        fitting: list[list[ValidationError]] = [
            errs for errs in branches.values() if not any(e.validator == "type" and not e.relative_path for e in errs)
        ]
        if not fitting:
            return error  # no branch has the value's type: say which types are allowed
        meant = min(fitting, key=len)
        error = max(meant, key=lambda e: len(list(e.relative_path)))  # its most specific error
    return error


def _types_of(error: ValidationError) -> str:
    if error.validator == "type":
        expected = error.validator_value
        types = [expected] if isinstance(expected, str) else expected
    else:
        types = [b.get("type", "") for b in error.validator_value if isinstance(b, dict)]
    return " or ".join(_TYPE_NAMES.get(t, t) for t in dict.fromkeys(types) if t)


def _name_fix(value: Any) -> str:
    fixed = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(value)).strip("-._") or "name"
    return f"e.g. {fixed!r}"


def describe(error: ValidationError, root: str = "the suite") -> str:
    """One sentence for a schema error, ending with what to do."""
    where = _where(tuple(error.absolute_path), root)
    check, instance, value = error.validator, error.instance, error.validator_value
    if check in ("additionalProperties", "unevaluatedProperties"):
        extra = _unknown_keys(error)
        allowed = _allowed_keys(error)
        close = difflib.get_close_matches(str(extra[0]), allowed, n=1) if extra else []
        hint = f"did you mean {close[0]!r}? " if close else ""
        names = ", ".join(repr(k) for k in extra) or "a key"
        return f"unknown key {names} in {where}; {hint}valid keys: {', '.join(allowed)}"
    if check in ("type", "oneOf", "anyOf"):
        fix = f"; write [{instance}]" if isinstance(instance, str) and "array" in str(value) else ""
        return f"{where} must be {_types_of(error)}, got {_kind(instance)}{fix}"
    if check == "required":
        missing = [k for k in value if k not in instance]
        example = " (e.g. `id: double-charge`: unique in the file, it becomes the test id)" if "id" in missing else ""
        return f"{where} is missing required key {', '.join(repr(k) for k in missing)}; add it{example}"
    if check == "pattern" and value.startswith("^[A-Za-z_]"):
        return f"{where}: {instance!r} is not a valid variable name; use letters, digits and '_' (not first)"
    if check == "pattern":
        what = "case id" if error.absolute_path and error.absolute_path[-1] == "id" else f"{where}: name"
        return f"{what} {instance!r} may only hold letters, digits, '_', '.', '-' (no spaces); {_name_fix(instance)}"
    if check == "enum":
        return f"{where} must be one of {', '.join(repr(v) for v in value)}, got {instance!r}"
    if check in ("minimum", "maximum"):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        if low == 0 and high == 1:
            return f"{where} must be between 0 and 1, got {instance!r}; scores are on a 0-1 scale (write 0.9, not 90)"
        bound = f"at least {low}" if check == "minimum" else f"at most {high}"
        return f"{where} must be {bound}, got {instance!r}"
    if check == "minItems":
        why = "; a counterfactual swaps in two or more values" if "counterfactual" in error.absolute_path else ""
        return f"{where} needs at least {value} item(s), got {len(instance)}{why}"
    if check in ("minLength", "minProperties"):
        return f"{where} must not be empty"
    if check == "uniqueItems":
        return f"{where} lists a value twice; list each once"
    return f"{where}: {error.message}"


def _line(doc: Any, error: ValidationError) -> int:
    """The line of the value in error, or of the first unknown key itself."""
    line = line_of(doc, tuple(error.absolute_path))
    unknown = _unknown_keys(error)
    key_lines = getattr(error.instance, "key_lines", {})
    return key_lines.get(unknown[0], line) if unknown else line


def validate_document(doc: Any, path: Path, *, subschema: str | None = None) -> list[SuiteProblem]:
    """Every schema problem of ``doc`` (the whole suite, or one case row when ``subschema='case'``)."""
    validator = _validator()
    root = "the suite"
    if subschema is not None:
        validator = validator.evolve(schema={"$ref": f"#/$defs/{subschema}", **{"$defs": suite_schema()["$defs"]}})
        root = "the row"
    problems = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        error = _branch(error)
        problems.append(SuiteProblem(path, _line(doc, error), describe(error, root)))
    return problems
