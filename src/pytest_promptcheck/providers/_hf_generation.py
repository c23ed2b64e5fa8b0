"""What one request asks ``generate()`` for, for the ``transformers`` provider: its settings and its seed.

``GenerationSettings`` are the suite params checked and normalised (requests batch together only
when theirs are equal); ``SeededSampler`` samples each row of a batch with that row's own seeded
generator, so a sampled output depends on its request's seed, not on its batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .base import ModelRequest

_DEFAULT_MAX_NEW_TOKENS = 64


@dataclass(frozen=True)
class GenerationSettings:
    """The generation parameters of one request; requests batch together only when these are equal."""

    max_new_tokens: int = _DEFAULT_MAX_NEW_TOKENS
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    min_new_tokens: int | None = None
    no_repeat_ngram_size: int | None = None


_PARAM_TYPES: dict[str, type] = {
    "max_new_tokens": int, "temperature": float, "top_p": float, "top_k": int, "do_sample": bool,
    "repetition_penalty": float, "min_new_tokens": int, "no_repeat_ngram_size": int, "seed": int,
}  # fmt: skip
_PARAM_ALIASES = {"max_tokens": "max_new_tokens"}


def generation_settings(params: Mapping[str, Any], *, model_name: str) -> GenerationSettings:
    """Suite params as generation settings: greedy unless ``do_sample`` or ``temperature > 0``.

    Unknown names are an error rather than silently ignored: a typo or a remote-only parameter
    (``stop``, ``response_format``) would otherwise change nothing without anyone noticing.
    """
    values: dict[str, Any] = {}
    for key, raw in params.items():
        name = _PARAM_ALIASES.get(key, key)
        kind = _PARAM_TYPES.get(name)
        if kind is None:
            supported = ", ".join(sorted([*_PARAM_TYPES, *_PARAM_ALIASES]))
            raise ConfigError(f"model {model_name!r} (transformers): unsupported param {key!r}; supported: {supported}")
        values[name] = _coerce(raw, kind, key, model_name)
    temperature = values.pop("temperature", None)
    do_sample = values.pop("do_sample", None)
    if do_sample is None:
        do_sample = bool(temperature)  # absent or 0 means greedy
    if temperature is not None and temperature <= 0:
        do_sample, temperature = False, None
    values.pop("seed", None)  # not a batch setting: each row samples with its own seed (see request_seed)
    values.setdefault("max_new_tokens", _DEFAULT_MAX_NEW_TOKENS)
    if do_sample:
        return GenerationSettings(do_sample=True, temperature=temperature or 1.0, **values)
    # Greedy ignores the sampling knobs: dropping them lets such requests share a batch.
    values = {k: v for k, v in values.items() if k not in ("top_p", "top_k")}
    return GenerationSettings(**values)


def _coerce(raw: Any, kind: type, key: str, model_name: str) -> Any:
    if raw is None:
        return None
    ok = isinstance(raw, bool) if kind is bool else isinstance(raw, (int, float)) and not isinstance(raw, bool)
    if not ok or (kind is int and float(raw) != int(raw)):
        raise ConfigError(f"model {model_name!r} (transformers): param {key!r} must be {kind.__name__}, got {raw!r}")
    return kind(raw)


def request_seed(request: ModelRequest) -> int:
    """A ``seed`` param wins (as for openai); else the engine's per-call seed (case id, sample index)."""
    fixed = request.params.get("seed")
    if isinstance(fixed, int) and not isinstance(fixed, bool):
        return fixed
    return request.seed if request.seed is not None else 0


class SeededSampler:
    """A logits processor that samples each row with that row's own seeded generator.

    Temperature, top-k and top-p use transformers' own warpers; the row's draw then becomes a
    one-hot score that greedy decoding picks. A row's draws so never depend on the other rows of
    its batch (whereas generate()'s own sampling shares one global RNG across the batch).
    """

    def __init__(self, settings: GenerationSettings, seeds: list[int], device: str) -> None:
        import torch
        from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

        self._torch = torch
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
        self.warpers: list[Any] = []
        if settings.temperature != 1.0:
            self.warpers.append(TemperatureLogitsWarper(settings.temperature))
        if settings.top_k:
            self.warpers.append(TopKLogitsWarper(top_k=settings.top_k))
        if settings.top_p is not None and settings.top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p=settings.top_p))

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        torch = self._torch
        for warper in self.warpers:
            scores = warper(input_ids, scores)
        probs = torch.softmax(scores.float(), dim=-1)
        picks = torch.cat([torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(self.generators)])
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter_(1, picks.unsqueeze(1), 0.0)
