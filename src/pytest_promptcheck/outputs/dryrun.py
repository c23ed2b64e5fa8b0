"""``--pc-dry-run``: the calls a run would make and their estimated cost, without calling anything."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..calls.plan import Call
    from ..config import ModelConfig

_CHARS_PER_TOKEN = 4  # a rough, provider-independent estimate for English text
_DEFAULT_OUTPUT_TOKENS = 256


def dry_run_lines(items: Iterable[tuple[str, ModelConfig, list[Call]]], *, verbose: bool) -> Iterator[str]:
    """``items``: (node id, model, planned calls) per item. Lines like ``tuned: 40 calls, ~12,000 input + ~2,000 output tokens, est. $0.0030``."""
    calls: Counter[str] = Counter()
    tokens_in: Counter[str] = Counter()
    tokens_out: Counter[str] = Counter()
    prices = {}
    for nodeid, model, planned in items:
        for call in planned:
            name = model.name
            calls[name] += 1
            tokens_in[name] += sum(len(m["content"]) for m in call.messages) // _CHARS_PER_TOKEN + 1
            limit = call.request.params.get("max_tokens") or call.request.params.get("max_new_tokens")
            tokens_out[name] += int(limit or _DEFAULT_OUTPUT_TOKENS)
            prices[name] = model.price
            if verbose:
                extra = "".join(f" {k}={v}" for k, v in call.binding.items())
                yield f"  {nodeid} sample {call.sample}{extra}: {model.describe_resolved()}"
    total_calls = sum(calls.values())
    total_cost = 0.0
    for name in sorted(calls):
        price = prices[name] or {}
        cost = (
            tokens_in[name] * price.get("input_per_mtok", 0) + tokens_out[name] * price.get("output_per_mtok", 0)
        ) / 1e6
        total_cost += cost
        cost_text = f"est. ${cost:.4f}" if price else "no price configured"
        yield (
            f"{name}: {calls[name]} calls, ~{tokens_in[name]:,} input + <={tokens_out[name]:,} output tokens, "
            f"{cost_text}"
        )
    yield f"dry run: {total_calls} calls would be made, est. ${total_cost:.4f} in all; nothing was called"
