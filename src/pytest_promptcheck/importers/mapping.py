"""promptfoo assertion types → our assertions: the table of ``promptcheck import promptfoo``.

Each promptfoo type maps to one of our assertions, *mapped* (same verdict on every output),
*approximated* (same intent, a different score or edge case: the note says which) or is
unsupported (left as a TODO by the importer). ``not-`` forms become ``not: true``; ``weight``
is kept. Pure data: no pytest, no plugin imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAPPED, APPROXIMATED, UNSUPPORTED = "mapped", "approximated", "unsupported"


@dataclass(frozen=True)
class Mapped:
    """One promptfoo assertion as ours: ``entry`` is the suite's ``assert`` item (None: unsupported)."""

    entry: dict[str, Any] | None
    status: str
    note: str = ""


class Unmappable(ValueError):
    """The assertion's value cannot be carried over; the message says why (it becomes a TODO)."""


def _text(value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise Unmappable(f"needs a text value, got {value!r}")
    return str(value)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):  # promptfoo accepts a comma-separated string for the list types
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value:
        raise Unmappable(f"needs a list of texts, got {value!r}")
    return [_text(v) for v in value]


def _any_ci(value: Any) -> str:
    return "(?i)" + "|".join(re.escape(v) for v in _texts(value))


def _all_ci(value: Any) -> str:
    return "(?is)^" + "".join(f"(?=.*{re.escape(v)})" for v in _texts(value))


def _json(value: Any, threshold: Any) -> list[dict[str, Any]]:
    if value is None:
        return [{"is_json": None}]
    if isinstance(value, dict):
        return [{"is_json": None}, {"json_schema": value}]
    if isinstance(value, str) and value.startswith("file://"):
        return [{"is_json": None}, {"json_schema": value.removeprefix("file://")}]
    raise Unmappable(f"the schema must be a mapping or a file:// path, got {value!r}")


def _fuzzy(value: Any, threshold: Any) -> list[dict[str, Any]]:
    return [{"fuzzy": {"value": _text(value), "min": 0.8}}]


def _similar(value: Any, threshold: Any) -> list[dict[str, Any]]:
    return [{"similar": {"value": _text(value), "min": float(threshold if threshold is not None else 0.75)}}]


def _bound(name: str) -> Callable[[Any, Any], list[dict[str, Any]]]:
    def build(value: Any, threshold: Any) -> list[dict[str, Any]]:
        if threshold is None:
            raise Unmappable(f"`{name}` needs a threshold")
        return [{name: {"max": threshold}}]

    return build


_JS_STRING = r"""(?P<q>['"])(?P<text>[^'"\\]*)(?P=q)"""  # a quoted JS string without escapes
_JS_CALL = re.compile(r"^(!?)output(\.toLowerCase\(\))?\.(includes|startsWith|endsWith)\(" + _JS_STRING + r"\)$")
_JS_LENGTH = re.compile(r"^output\.length\s*(<=|<|>=|>)\s*(\d+)$")


def _javascript(value: Any, threshold: Any) -> list[dict[str, Any]]:
    """The few JavaScript one-liners with a plain equivalent; any other code is unmappable."""
    code = value.strip().removeprefix("return ").rstrip(";").strip() if isinstance(value, str) else ""
    length = _JS_LENGTH.match(code)
    if length:
        op, n = length.group(1), int(length.group(2))
        bound = {"<=": {"max": n}, "<": {"max": n - 1}, ">=": {"min": n}, ">": {"min": n + 1}}[op]
        return [{"length": bound}]
    call = _JS_CALL.match(code)
    if not call or (call.group(2) and call.group("text") != call.group("text").lower()):
        raise Unmappable("JavaScript code; write it as a `python:` check (module:function)")
    bang, lower, method, text = call.group(1), call.group(2), call.group(3), call.group("text")
    if method == "includes":
        entry: dict[str, Any] = {"icontains" if lower else "contains": text}
    elif method == "startsWith":
        entry = {"regex": "(?i)^" + re.escape(text)} if lower else {"regex": "^" + re.escape(text)}
    else:
        entry = {"regex": ("(?i)" if lower else "") + re.escape(text) + r"\Z"}
    if bang:
        entry["not"] = True
    return [entry]


# type -> (status, builder(value, threshold) -> our entries, note)
Builder = Callable[[Any, Any], list[dict[str, Any]]]
_SIMPLE: dict[str, tuple[str, Builder, str]] = {
    "equals": (MAPPED, lambda v, t: [{"equals": _text(v)}], "surrounding whitespace is ignored here"),
    "contains": (MAPPED, lambda v, t: [{"contains": _text(v)}], ""),
    "icontains": (MAPPED, lambda v, t: [{"icontains": _text(v)}], ""),
    "contains-any": (MAPPED, lambda v, t: [{"contains_any": _texts(v)}], ""),
    "contains-all": (MAPPED, lambda v, t: [{"contains_all": _texts(v)}], ""),
    "icontains-any": (MAPPED, lambda v, t: [{"regex": _any_ci(v)}], "as a case-insensitive regex"),
    "icontains-all": (MAPPED, lambda v, t: [{"regex": _all_ci(v)}], "as a case-insensitive regex"),
    "starts-with": (MAPPED, lambda v, t: [{"starts_with": _text(v)}], "leading whitespace is ignored here"),
    "regex": (MAPPED, lambda v, t: [{"regex": _text(v)}], "Python regex syntax"),
    "is-json": (MAPPED, _json, ""),
    "contains-json": (APPROXIMATED, _json, "is_json finds JSON in a ```json fence, not anywhere in the text"),
    "levenshtein": (APPROXIMATED, _fuzzy, "an edit distance becomes a fuzzy ratio >= 0.8"),
    "similar": (MAPPED, _similar, "needs a local embedding model (embedding_model)"),
    "latency": (MAPPED, _bound("latency_ms"), ""),
    "cost": (MAPPED, _bound("cost"), ""),
    "finish-reason": (MAPPED, lambda v, t: [{"finish_reason": _text(v)}], ""),
    "javascript": (APPROXIMATED, _javascript, "a JavaScript one-liner read as its plain equivalent"),
}
# Model-graded types become a judge with a rubric; the grader prompt differs from promptfoo's.
_GRADED = {
    "llm-rubric": "{value}",
    "model-graded-closedqa": "{value}",
    "g-eval": "{value}",
    "factuality": "The output is factually consistent with: {value}",
    "answer-relevance": "The output answers the question that was asked.",
}
UNSUPPORTED_TYPES = (
    "webhook", "moderation", "classifier", "perplexity", "rouge-n", "bleu", "select-best",
    "is-sql", "contains-sql", "is-xml", "contains-xml", "is-html", "contains-html", "is-valid-openai-tools-call",
)  # fmt: skip


def map_assertion(spec: dict[str, Any], judge_model: str | None) -> list[Mapped]:
    """Our assert entries for one promptfoo assertion (not ``assert-set``; the importer handles it)."""
    kind = str(spec.get("type", ""))
    base = kind.removeprefix("not-")
    value, threshold = spec.get("value"), spec.get("threshold")
    entries: list[dict[str, Any]]
    try:
        if base in _GRADED:
            rubric = _GRADED[base].format(value=value)
            arg: dict[str, Any] = {"rubric": rubric}
            if judge_model:
                arg["model"] = judge_model
            if threshold is not None:
                arg["min"] = float(threshold)
            entries, status, note = [{"judge": arg}], APPROXIMATED, "graded by our judge prompt, not promptfoo's"
        elif base in _SIMPLE:
            status, build, note = _SIMPLE[base]
            entries = build(value, threshold)
        else:
            why = (
                "has no equivalent here" if base in UNSUPPORTED_TYPES else "is not a promptfoo type this importer knows"
            )
            return [Mapped(None, UNSUPPORTED, f"assertion type {kind!r} {why}")]
    except Unmappable as exc:
        return [Mapped(None, UNSUPPORTED, f"assertion {kind!r}: {exc}")]
    return [Mapped(with_modifiers(entry, spec), status, note) for entry in entries]


def with_modifiers(entry: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with the promptfoo assertion's ``not-`` prefix, ``weight`` and ``metric`` (as message)."""
    if str(spec.get("type", "")).startswith("not-"):
        entry["not"] = not entry.get("not", False)  # `not-javascript: !output.includes(..)` cancels out
    if not entry.get("not", True):
        del entry["not"]
    if spec.get("weight") is not None and spec.get("weight") != 1:
        entry["weight"] = float(spec["weight"])
    if spec.get("metric"):
        entry["message"] = str(spec["metric"])
    return entry


def expected_column(text: str) -> dict[str, Any]:
    """A CSV ``__expected`` cell as a promptfoo assertion (``contains: x``, ``regex: x``, ..., else equals)."""
    for prefix, kind in (
        ("not-", None), ("contains-any:", "contains-any"), ("contains-all:", "contains-all"),
        ("icontains-any:", "icontains-any"), ("icontains-all:", "icontains-all"), ("contains:", "contains"),
        ("icontains:", "icontains"), ("starts-with:", "starts-with"), ("regex:", "regex"),
        ("levenshtein:", "levenshtein"), ("similar:", "similar"), ("llm-rubric:", "llm-rubric"),
        ("grade:", "llm-rubric"), ("equals:", "equals"), ("is-json", "is-json"), ("contains-json", "contains-json"),
        ("javascript:", "javascript"), ("fn:", "javascript"), ("eval:", "javascript"), ("python:", "python"),
    ):  # fmt: skip
        if kind is None:
            if text.startswith(prefix):
                inner = expected_column(text[len(prefix) :])
                return {**inner, "type": "not-" + inner["type"]}
            continue
        if text.startswith(prefix):
            rest = text[len(prefix) :].strip()
            if kind in ("is-json", "contains-json"):
                return {"type": kind}
            if kind.endswith(("-any", "-all")):
                return {"type": kind, "value": [p.strip() for p in rest.split(",") if p.strip()]}
            return {"type": kind, "value": rest}
    return {"type": "equals", "value": text}
