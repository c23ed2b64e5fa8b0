"""Operational assertions on how a model answered: latency_ms, ttft_ms, tokens, finish_reason, cost."""

from __future__ import annotations

from typing import Any

from .base import AssertionRegistry, BadArgument, CheckContext, Outcome, PrepareContext


def _bounds(name: str, arg: Any, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        arg = {"max": arg}
    if not isinstance(arg, dict) or not ({"min", "max"} & set(arg)) or set(arg) - {"min", "max", *extra}:
        keys = ", ".join(("min", "max", *extra))
        raise BadArgument(f"`{name}` needs a maximum or {{{keys}}}, got {arg!r}; e.g. `- {name}: {{max: 2000}}`")
    for key in ("min", "max"):
        value = arg.get(key)
        if key in arg and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise BadArgument(f"`{name}` {key} must be a non-negative number, got {value!r}")
    if "min" in arg and "max" in arg and arg["min"] > arg["max"]:
        raise BadArgument(f"`{name}` min {arg['min']:g} is greater than max {arg['max']:g}; nothing can pass")
    return dict(arg)


def _within(name: str, value: float | None, arg: dict[str, Any], unit: str, missing: str = "") -> Outcome:
    if value is None:
        why = missing or f"the provider reported no {unit}"
        return Outcome(False, 0.0, f"{name} unknown for this call ({why})", None, None, definite=False)
    low, high = arg.get("min"), arg.get("max")
    ok = (low is None or value >= low) and (high is None or value <= high)
    bound = " and ".join(
        p for p in (f">= {low:g}" if low is not None else "", f"<= {high:g}" if high is not None else "") if p
    )
    return Outcome(ok, float(ok), "" if ok else f"{value:g} {unit} is not {bound}", bound, value)


def latency_ms(_output: str, arg: dict[str, Any], context: CheckContext) -> Outcome:
    return _within("latency_ms", context.completion.latency_ms, arg, "ms")


def ttft_ms(_output: str, arg: dict[str, Any], context: CheckContext) -> Outcome:
    """Time to the first streamed token; only a streamed answer has one (not a cached or replayed one)."""
    completion = context.completion
    if completion.cached:
        why = "a stored answer (the cache or a cassette) has no time to first token; run live with --pc-no-cache"
    else:
        why = "the answer was not streamed; set `params: {stream: true}` on the case or the model"
    return _within("ttft_ms", completion.ttft_ms, arg, "ms", why)


def _prepare_tokens(arg: Any, _: PrepareContext) -> dict[str, Any]:
    bounds = _bounds("tokens", arg, ("kind",))
    if bounds.setdefault("kind", "output") not in ("input", "output", "total"):
        raise BadArgument(f"`tokens` kind must be input, output or total, got {bounds['kind']!r}")
    return bounds


def tokens(_output: str, arg: dict[str, Any], context: CheckContext) -> Outcome:
    usage = context.completion.usage
    counts = {"input": usage.input_tokens, "output": usage.output_tokens}
    value = counts.get(arg["kind"])
    if arg["kind"] == "total":
        value = None if None in counts.values() else (usage.input_tokens or 0) + (usage.output_tokens or 0)
    return _within(f"{arg['kind']} tokens", value, arg, "tokens", "the provider reported no token usage")


def _prepare_finish_reason(arg: Any, _: PrepareContext) -> list[str]:
    values = [arg] if isinstance(arg, str) else arg
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise BadArgument(
            f"`finish_reason` needs a reason or a list of them, got {arg!r}; e.g. `- finish_reason: stop`"
        )
    return values


def finish_reason(_output: str, allowed: list[str], context: CheckContext) -> Outcome:
    got = context.completion.finish_reason
    if got is None:
        return Outcome(False, 0.0, "finish_reason unknown for this call (the provider reported none)", definite=False)
    ok = got in allowed
    return Outcome(ok, float(ok), "" if ok else f"finish_reason {got!r} not in {allowed}", allowed, got)


def cost(_output: str, arg: dict[str, Any], context: CheckContext) -> Outcome:
    price = context.model.price
    missing = "the provider reported no token usage" if price else f"model {context.model.name!r} has no `price`"
    return _within("cost", context.completion.cost(price), arg, "USD", missing)


def register(registry: AssertionRegistry) -> None:
    registry.register(
        "latency_ms", latency_ms, prepare=lambda a, _: _bounds("latency_ms", a), example="`- latency_ms: 2000`"
    )
    registry.register("ttft_ms", ttft_ms, prepare=lambda a, _: _bounds("ttft_ms", a), example="`- ttft_ms: {max: 800}`")
    registry.register("tokens", tokens, prepare=_prepare_tokens, example="`- tokens: {max: 256}`")
    registry.register("finish_reason", finish_reason, prepare=_prepare_finish_reason, example="`- finish_reason: stop`")
    registry.register("cost", cost, prepare=lambda a, _: _bounds("cost", a), example="`- cost: {max: 0.01}`")
