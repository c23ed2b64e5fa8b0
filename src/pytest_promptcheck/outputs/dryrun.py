"""``--pc-dry-run``: the calls a run would make and their estimated cost, without calling anything.

An openai or anthropic model's line adds what its calls cost through the batch API (``--pc-batch``).
The listing is built on the controller from the items' records (each carries the calls it would
make, grader calls of judge/rubric included), so it is the same with or without ``-n``::

    dry run: calls per model, estimated from the prompts (~4 characters a token)
      tuned: 40 calls, ~12,000 input + <=10,240 output tokens, est. $0.0030
      gpt: 40 calls, ~12,000 input + <=10,240 output tokens, est. $0.0080 (batch API: $0.0040)
      judge grader: 40 calls (at least one per judged call), ~20,000 input + <=10,240 output tokens, est. $0.0120
    dry run: 120 calls would be made, est. $0.0230 in all (with the batch APIs: $0.0190); nothing was called
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..config_values import BATCH_PROVIDERS
from ..providers.base import DEFAULT_BATCH_DISCOUNT

if TYPE_CHECKING:
    from ..config_models import ModelConfig
    from ..runs.record import ItemRecord

_CHARS_PER_TOKEN = 4  # a rough, provider-independent estimate for English text
_DEFAULT_OUTPUT_TOKENS = 256


def _input_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    return sum(len(str(m.get("content", ""))) for m in messages) // _CHARS_PER_TOKEN + 1


def _output_tokens(params: Mapping[str, Any]) -> int:
    return int(params.get("max_tokens") or params.get("max_new_tokens") or _DEFAULT_OUTPUT_TOKENS)


def dry_run_lines(records: Iterable[ItemRecord], models: Mapping[str, ModelConfig], *, verbose: bool) -> Iterator[str]:
    """The listing above; with ``verbose``, one line per call first. ``models``: the configured models (prices)."""
    calls: Counter[str] = Counter()
    tokens_in: Counter[str] = Counter()
    tokens_out: Counter[str] = Counter()
    for record in sorted(records, key=lambda r: r.item):
        model = models.get(record.model)
        for call in record.calls:
            calls[record.model] += 1
            tokens_in[record.model] += _input_tokens(call.messages)
            graded_out = _output_tokens(call.params)
            tokens_out[record.model] += graded_out
            for judged in call.judge_calls:  # the grader reads the graded output too
                key = f"judge {judged.model}"
                calls[key] += 1
                tokens_in[key] += _input_tokens(judged.messages) + graded_out
                tokens_out[key] += _output_tokens(judged.params)
            if verbose:
                extra = "".join(f" {k}={v}" for k, v in call.binding.items())
                served = model.describe_resolved() if model is not None else record.served
                judges = "".join(f" + judge {j.model}" for j in call.judge_calls)
                yield f"  {record.item} sample {call.sample}{extra}: {served}{judges}"
    yield "dry run: calls per model, estimated from the prompts (~4 characters a token)"
    total_cost = total_batch = 0.0
    for key in sorted(calls, key=lambda k: (k.startswith("judge "), k)):
        name = key.removeprefix("judge ")
        price = (models[name].price if name in models else None) or {}
        cost = (
            tokens_in[key] * price.get("input_per_mtok", 0) + tokens_out[key] * price.get("output_per_mtok", 0)
        ) / 1e6
        total_cost += cost
        batch_cost = None if key.startswith("judge ") else _batch_cost(models.get(name), cost)  # graders: direct
        total_batch += cost if batch_cost is None else batch_cost
        cost_text = f"est. ${cost:.4f}" if price else "no price configured"
        if price and batch_cost is not None:
            cost_text += f" (batch API: ${batch_cost:.4f})"
        least = " (at least one per judged call)" if key.startswith("judge ") else ""
        yield f"  {key}: {calls[key]} calls{least}, ~{tokens_in[key]:,} input + <={tokens_out[key]:,} output tokens, {cost_text}"
    total = sum(calls.values())
    batch_text = f" (with the batch APIs: ${total_batch:.4f})" if total_batch < total_cost else ""
    yield f"dry run: {total} calls would be made, est. ${total_cost:.4f} in all{batch_text}; nothing was called"


def _batch_cost(model: ModelConfig | None, cost: float) -> float | None:
    """What ``cost`` comes to through the model's batch API (``price.batch_discount`` off), None without one."""
    if model is None or model.provider not in BATCH_PROVIDERS:
        return None
    return cost * (1 - float((model.price or {}).get("batch_discount", DEFAULT_BATCH_DISCOUNT)))
