"""Similarity assertions: ``fuzzy`` (rapidfuzz) and ``snapshot`` (compare to the stored output).

Scores are on a 0–1 scale: rapidfuzz's 0–100 ratios are divided by 100.
"""

from __future__ import annotations

from typing import Any

from .base import AssertionRegistry, BadArgument, CheckContext, Outcome, PrepareContext

_METHODS = ("ratio", "partial_ratio", "token_set_ratio", "token_sort_ratio")


def _prepare_fuzzy(arg: Any, _: PrepareContext) -> dict[str, Any]:
    from rapidfuzz import fuzz

    example = "e.g. `- fuzzy: {value: 'expected text', min: 0.9}`"
    if isinstance(arg, str):
        arg = {"value": arg}
    if not isinstance(arg, dict) or not isinstance(arg.get("value"), str):
        raise BadArgument(f"`fuzzy` needs a text or {{value, min, method}}, got {arg!r}; {example}")
    unknown = set(arg) - {"value", "min", "method"}
    if unknown:
        raise BadArgument(f"`fuzzy` has unknown key(s) {sorted(unknown)}; valid: value, min, method")
    minimum = arg.get("min", 0.8)
    if isinstance(minimum, bool) or not isinstance(minimum, (int, float)) or not 0 <= minimum <= 1:
        raise BadArgument(f"`fuzzy` min is a score between 0 and 1 (rapidfuzz ratio / 100), got {minimum!r}")
    method = arg.get("method", "ratio")
    if isinstance(method, str) and not method.endswith("ratio"):
        method += "_ratio"  # `token_set` is short for `token_set_ratio`
    if method not in _METHODS:
        raise BadArgument(f"`fuzzy` method must be one of {', '.join(_METHODS)}, got {arg.get('method')!r}")
    return {"value": arg["value"], "min": float(minimum), "scorer": getattr(fuzz, method), "method": method}


def fuzzy(output: str, arg: dict[str, Any], _: CheckContext) -> Outcome:
    score = arg["scorer"](arg["value"].strip(), output.strip()) / 100.0
    ok = score >= arg["min"]
    reason = f"{arg['method']} {score:.2f} {'>=' if ok else '<'} min {arg['min']:.2f}"
    return Outcome(ok, score, reason, arg["value"], output, diff=not ok)


def _prepare_snapshot(arg: Any, prepare: PrepareContext) -> dict[str, Any]:
    if arg is None:
        return {"min": None}
    minimum = arg.get("min") if isinstance(arg, dict) and set(arg) == {"min"} else None
    if isinstance(minimum, (int, float)) and not isinstance(minimum, bool) and 0 <= minimum <= 1:
        return {"min": float(minimum)}
    raise BadArgument(
        f"`snapshot` takes no argument, or {{min: 0.9}} for a fuzzy match (a score between 0 and 1), got {arg!r}"
    )


def snapshot(output: str, arg: dict[str, Any], context: CheckContext) -> Outcome:
    outcome = _compare_snapshot(output, arg, context)
    if not outcome.passed and getattr(context.snapshots, "updating", False):
        # --pc-update: the controller stores this output (listeners/snapshot_update.py); the check passes
        action = "written" if outcome.expected is None else "updated"
        return Outcome(
            True, 1.0, f"snapshot {action} (--pc-update)", outcome.expected, output, details={"snapshot": action}
        )
    return outcome


def _compare_snapshot(output: str, arg: dict[str, Any], context: CheckContext) -> Outcome:
    store = context.snapshots
    stored = store.get(context.snapshot_key) if store is not None else None
    if stored is None:
        where = store.describe() if store is not None else "__snapshots__"
        return Outcome(
            False,
            0.0,
            f"no snapshot stored for {context.snapshot_key!r} in {where}; run pytest --pc-update to record it",
            None,
            None,
            definite=False,
        )
    if arg["min"] is None:
        ok = stored.strip() == output.strip()
        return Outcome(ok, float(ok), "" if ok else "output differs from the snapshot", stored, output, diff=not ok)
    from rapidfuzz import fuzz

    score = fuzz.ratio(stored.strip(), output.strip()) / 100.0
    ok = score >= arg["min"]
    return Outcome(ok, score, f"similarity {score:.2f} vs min {arg['min']:.2f}", stored, output, diff=not ok)


def register(registry: AssertionRegistry) -> None:
    registry.register("fuzzy", fuzzy, prepare=_prepare_fuzzy, example="`- fuzzy: {value: 'text', min: 0.9}`")
    registry.register("snapshot", snapshot, prepare=_prepare_snapshot, arg="optional")
