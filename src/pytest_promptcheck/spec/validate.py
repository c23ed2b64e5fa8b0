"""JSON Schema validation of a loaded suite document, with errors turned into ``file:line`` sentences."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

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


def _where(path: tuple[Any, ...]) -> str:
    parts = []
    for part in path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or "the suite"


def _allowed_keys(error: ValidationError) -> list[str]:
    schema = error.schema
    keys = set(schema.get("properties", {}))
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        keys |= set(suite_schema()["$defs"][ref.split("/")[-1]].get("properties", {}))
    return sorted(keys)


def describe(error: ValidationError) -> str:
    """One sentence for a schema error, ending with what to do."""
    where = _where(tuple(error.absolute_path))
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        extra = sorted(set(error.instance) - set(_allowed_keys(error))) if isinstance(error.instance, dict) else []
        names = ", ".join(repr(k) for k in extra) or "a key"
        return f"unknown key {names} in {where}; valid keys: {', '.join(_allowed_keys(error))}"
    if error.validator == "type":
        expected = error.validator_value
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in ([expected] if isinstance(expected, str) else expected))
        got = type(error.instance).__name__
        return f"{where} must be {wanted}, got {got} {error.instance!r}"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"{where} is missing required key {', '.join(repr(k) for k in missing)}"
    if error.validator == "pattern" and error.absolute_path and error.absolute_path[-1] == "id":
        return f"case id {error.instance!r} may only hold letters, digits, '_', '.', '-' (no spaces)"
    if error.validator == "pattern":
        return f"{where}: {error.instance!r} is not a valid name (letters, digits, '_', '.', '-')"
    if error.validator == "enum":
        return f"{where} must be one of {', '.join(repr(v) for v in error.validator_value)}, got {error.instance!r}"
    if error.validator in ("oneOf", "anyOf") and error.context:
        return describe(best_match(error.context))
    if error.validator in ("minimum", "maximum", "minItems", "minLength", "minProperties", "uniqueItems"):
        return f"{where}: {error.message}"
    return f"{where}: {error.message}"


def validate_document(doc: Any, path: Path, *, subschema: str | None = None) -> list[SuiteProblem]:
    """Every schema problem of ``doc`` (the whole suite, or one case row when ``subschema='case'``)."""
    validator = _validator()
    if subschema is not None:
        validator = validator.evolve(schema={"$ref": f"#/$defs/{subschema}", **{"$defs": suite_schema()["$defs"]}})
    problems = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(SuiteProblem(path, line_of(doc, tuple(error.absolute_path)), describe(error)))
    return problems
