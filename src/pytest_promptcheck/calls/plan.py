"""Planning an item's calls: one :class:`Call` per repeat sample × counterfactual value, with its seed.

A case on one prompt variant and one model makes ``repeat`` calls for each counterfactual binding
(one empty binding when it has none). Each call's seed derives from the run's seed, the case id
and the sample index, so repeats differ and reruns repeat.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from ..config import ProjectConfig, effective_call_settings
from ..config_models import ModelConfig
from ..providers.base import ModelRequest
from ..suites.model import Case, bindings


@dataclass(frozen=True)
class Call:
    """One model call of an item: a sample of one counterfactual binding, rendered and ready to send."""

    sample: int
    binding: dict[str, Any]
    messages: tuple[dict[str, Any], ...]
    request: ModelRequest
    turn: int | None = None  # a multi-turn case's turn (1-based); None for a single-turn case


def plan_calls(project: ProjectConfig, model: ModelConfig, case: Case, rendered: tuple[Any, ...]) -> list[Call]:
    """Every call of ``case`` on ``model``; ``rendered`` holds the messages per counterfactual binding."""
    settings = effective_call_settings(project, model, case.params, case.repeat.n)
    calls = []
    for binding, messages in zip(bindings(case), rendered):
        for sample in range(settings.repeat):
            request = ModelRequest(
                messages=messages,
                params=settings.params,
                timeout=settings.timeout,
                seed=derive_seed(project.seed, case.id, sample),
                sample_index=sample,
                case_id=case.id,
                tools=case.tools,
                tool_choice=case.tool_choice,
            )
            calls.append(Call(sample, binding, messages, request))
    return calls


def derive_seed(base: int, case_id: str, sample: int) -> int:
    """Each call's seed from (seed, case id, sample index): repeats differ, reruns repeat."""
    digest = hashlib.sha256(f"{base}\0{case_id}\0{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def confirmation_calls(planned: list[Call], *, first_sample: int, seed: int) -> list[Call]:
    """The item's calls again at new sample indexes from ``first_sample`` (so new seeds): a re-sample."""
    calls = []
    for call in planned:
        sample = first_sample + call.sample
        case_id = call.request.case_id or ""
        request = replace(call.request, sample_index=sample, seed=derive_seed(seed, case_id, sample))
        calls.append(Call(sample, call.binding, call.messages, request, call.turn))
    return calls
