"""The ``transformers`` provider: local checkpoints and peft adapters, batched dynamically.

Loading. The model loads once, when the engine creates the provider (one per model and process),
so load time never counts against a call's timeout. ``path`` is a local checkpoint folder (its
``config.json``, weights, tokenizer); ``adapter`` is a peft adapter folder applied over ``path``
with ``PeftModel.from_pretrained``. The adapter is never merged into the base weights
(``merge_and_unload``): merging rounds the weights differently, so outputs could change from the
ones the adapter produces as trained, and a gate must judge what was trained.

Batching. Calls that arrive together (within a few milliseconds, or while a batch is running)
and have the same generation settings are padded on the LEFT and generated as one batch of at
most ``batch_size``. Generation runs on one dedicated worker thread, so the engine's event loop
stays free, and batches run one at a time. Greedy output batched equals greedy output alone.

Sampling. Each request's draws come from its own ``torch.Generator`` seeded with the request's
seed (see ``SeededSampler``), so a sampled output depends on its seed, not on which requests
shared its batch: reruns reproduce it for the same batch composition, and in practice for any
composition (padding can shift logits in the last float bits, which can move a draw that falls
exactly on a boundary).

Errors. A missing or unloadable checkpoint, a missing chat template or an unsupported parameter is
a ``ConfigError`` naming the model, the path and the fix: the item becomes an *error* with that
message, never a traceback from transformers internals.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import copy
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from ..config_models import ModelConfig
from ..errors import ConfigError, ProviderError
from ._hf_generation import GenerationSettings, SeededSampler, generation_settings, request_seed
from ._hf_load import load
from ._tool_text import PARSERS, parse_tool_calls
from ._tool_wire import hf_message, openai_tools
from .base import Completion, ModelRequest, ProviderContext, Usage
from .fingerprint import files_digest, short_hash

_DEFAULT_BATCH_SIZE = 16
# Gathering a batch: wait in ticks while requests keep arriving; stop at the first quiet tick.
_GATHER_TICK_S = 0.002
_GATHER_MAX_S = 0.02


@dataclass
class _Pending:
    """One queued request: its prompt token ids, its seed and the future its caller awaits."""

    order: int
    input_ids: list[int]
    seed: int
    future: asyncio.Future[Completion] = field(repr=False)


class TransformersProvider:
    """A local causal LM; ``complete`` queues the request and a batch worker answers it."""

    def __init__(self, model: ModelConfig, context: ProviderContext) -> None:
        self.model = model
        self._tool_parser = _tool_parser(model)  # checked before the (slow) load
        self.batch_size = max(1, int(model.batch_size or _DEFAULT_BATCH_SIZE))
        self._loaded = load(model, context.project.root)
        import torch

        self._torch = torch
        self._queues: dict[GenerationSettings, list[_Pending]] = {}
        self._counter = itertools.count()
        self._worker: asyncio.Task[None] | None = None
        self._running: list[_Pending] = []  # the batch on the worker thread now
        self.batch_counts: collections.Counter[int] = collections.Counter()  # batch size -> batches run (stats)
        # One thread: batches run one at a time (a second would only contend for the same device).
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"promptcheck-{model.name}")
        self._fingerprint: dict[str, str] | None = None
        self._weights_digest: str | None = None

    # -- calls ---------------------------------------------------------------------------------------
    async def complete(self, request: ModelRequest) -> Completion:
        settings = generation_settings(request.params, model_name=self.model.name)
        loop = asyncio.get_running_loop()
        pending = _Pending(next(self._counter), self._encode(request), request_seed(request), loop.create_future())
        self._queues.setdefault(settings, []).append(pending)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run_batches())
        return await pending.future  # a timeout cancels this future; the worker then skips or drops it

    def _encode(self, request: ModelRequest) -> list[int]:
        """Prompt token ids through the chat template (tokenizer used on the loop thread only)."""
        loaded = self._loaded
        try:
            encoded = loaded.tokenizer.apply_chat_template(
                [hf_message(m) for m in request.messages], chat_template=loaded.chat_template,
                add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
                **({"tools": openai_tools(request.tools)} if request.tools else {}),
            )  # fmt: skip
        except Exception as exc:  # a template may raise on purpose (e.g. "system role not supported")
            raise ProviderError("transformers", self.model.name, f"chat template failed: {exc}") from None
        return [int(t) for t in encoded["input_ids"][0].tolist()]

    async def _run_batches(self) -> None:
        """Run queued batches until the queues are empty; fail their callers if anything breaks."""
        try:
            while True:
                await self._gather()
                batch = self._next_batch()
                if batch is None:
                    return
                await self._run_one(*batch)
        except BaseException as exc:  # cancelled at shutdown, or a bug: never leave a caller waiting
            for pending in itertools.chain(self._running, *self._queues.values()):
                if not pending.future.done():
                    pending.future.set_exception(
                        ProviderError("transformers", self.model.name, f"batch worker stopped: {exc!r}")
                    )
            self._queues.clear()
            raise

    async def _gather(self) -> None:
        """Wait while requests keep arriving (the engine releases the next calls as a batch ends)."""
        waited, seen = 0.0, -1
        while waited < _GATHER_MAX_S:
            queued = sum(len(q) for q in self._queues.values())
            if queued == seen or max((len(q) for q in self._queues.values()), default=0) >= self.batch_size:
                return
            seen = queued
            await asyncio.sleep(_GATHER_TICK_S)
            waited += _GATHER_TICK_S

    def _next_batch(self) -> tuple[GenerationSettings, list[_Pending]] | None:
        """Up to ``batch_size`` live requests with the settings of the oldest one waiting (FIFO)."""
        for settings in list(self._queues):  # drop requests whose caller gave up (timeout)
            self._queues[settings] = [p for p in self._queues[settings] if not p.future.done()]
            if not self._queues[settings]:
                del self._queues[settings]
        if not self._queues:
            return None
        settings = min(self._queues, key=lambda s: self._queues[s][0].order)
        queue = self._queues[settings]
        batch, self._queues[settings] = queue[: self.batch_size], queue[self.batch_size :]
        if not self._queues[settings]:
            del self._queues[settings]
        return settings, batch

    async def _run_one(self, settings: GenerationSettings, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        rows, seeds = [p.input_ids for p in batch], [p.seed for p in batch]
        self._running = batch
        self.batch_counts[len(batch)] += 1
        try:
            outputs = await loop.run_in_executor(self._executor, self._generate, settings, rows, seeds)
        except Exception as exc:
            error = ProviderError("transformers", self.model.name, f"generation failed: {type(exc).__name__}: {exc}")
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        finally:
            self._running = []
        for pending, new_tokens in zip(batch, outputs):
            if not pending.future.done():
                pending.future.set_result(self._completion(pending.input_ids, new_tokens))

    # -- the worker thread ---------------------------------------------------------------------------
    def _generate(self, settings: GenerationSettings, rows: list[list[int]], seeds: list[int]) -> list[list[int]]:
        """Generate for left-padded ``rows``; returns each row's new token ids (padding included)."""
        torch, loaded = self._torch, self._loaded
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), loaded.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):  # LEFT padding: every row's last prompt token sits in the last column
            input_ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
        processors = [SeededSampler(settings, seeds, loaded.device)] if settings.do_sample else []
        from transformers import LogitsProcessorList

        with torch.inference_mode():
            output = loaded.model.generate(
                input_ids=input_ids.to(loaded.device), attention_mask=mask.to(loaded.device),
                generation_config=self._generation_config(settings),
                logits_processor=LogitsProcessorList(processors),
            )  # fmt: skip
        return [list(map(int, r)) for r in output[:, width:].tolist()]

    def _generation_config(self, settings: GenerationSettings) -> Any:
        """The checkpoint's generation config, greedy, with the request's settings on top.

        Always greedy for transformers itself: sampling, when asked for, is done per row by
        ``SeededSampler``, which hands generate() a one-hot choice.
        """
        config = copy.deepcopy(self._loaded.base_generation)
        config.update(
            do_sample=False, num_beams=1, temperature=None, top_p=None, top_k=None, max_length=None,
            max_new_tokens=settings.max_new_tokens, pad_token_id=self._loaded.pad_id,
            eos_token_id=sorted(self._loaded.eos_ids),
        )  # fmt: skip
        for name in ("repetition_penalty", "min_new_tokens", "no_repeat_ngram_size"):
            if getattr(settings, name) is not None:
                setattr(config, name, getattr(settings, name))
        return config

    # -- results -------------------------------------------------------------------------------------
    def _completion(self, prompt: list[int], new_tokens: list[int]) -> Completion:
        """Decode up to the first EOS: ``stop`` when one was generated, else ``length``.

        The text is not stripped or otherwise normalised: an OpenAI-compatible server serving the
        same checkpoint (transformers serve, vLLM, TGI) returns the decoded tokens as they are, and
        one checkpoint must give one output however it is served (README "Outputs are not normalised").
        """
        stop = next((i for i, t in enumerate(new_tokens) if t in self._loaded.eos_ids), None)
        kept = new_tokens if stop is None else new_tokens[:stop]
        text = self._loaded.tokenizer.decode(kept, skip_special_tokens=True)
        generated = len(new_tokens) if stop is None else stop + 1  # the EOS counts, padding after it does not
        calls = parse_tool_calls(self._tool_parser, text) if self._tool_parser else ()
        return Completion(
            output=text,
            finish_reason="length" if stop is None else "tool_calls" if calls else "stop",
            tool_calls=calls,
            usage=Usage(input_tokens=len(prompt), output_tokens=generated),
            served_model=self.model.describe(),
        )

    # -- fingerprints --------------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, str]:
        """Short hashes of what shapes outputs besides the prompt: compare two with ``describe_drift``."""
        if self._fingerprint is None:
            loaded = self._loaded
            tokenizer = loaded.tokenizer
            vocab = sorted(tokenizer.get_vocab().items())
            special = {"map": tokenizer.special_tokens_map, "ids": sorted(tokenizer.all_special_ids)}
            generation = self._generation_config(GenerationSettings()).to_diff_dict()
            generation.pop("transformers_version", None)  # the library version is not a setting
            self._fingerprint = {
                "chat_template": short_hash(loaded.chat_template),
                "tokenizer": short_hash(json.dumps([vocab, special], sort_keys=True, default=str)),
                "generation_config": short_hash(json.dumps(generation, sort_keys=True, default=str)),
                "weights": self.weights_digest()[:16],
            }
        return dict(self._fingerprint)

    def drift_details(self) -> dict[str, Any]:
        """What ``fingerprint()`` hashes, readable: the template text, the generation settings, the
        tokenizer's size and special tokens (``describe_drift`` names what differs from these)."""
        loaded = self._loaded
        generation = self._generation_config(GenerationSettings()).to_diff_dict()
        generation.pop("transformers_version", None)
        tokenizer = loaded.tokenizer
        return {
            "chat_template": loaded.chat_template,
            "generation_config": generation,
            "tokenizer": {"vocab_size": len(tokenizer.get_vocab()), **dict(tokenizer.special_tokens_map)},
        }

    def weights_digest(self) -> str:
        """Full sha256 of the weight files of ``path`` and ``adapter`` (computed once; big files take a while)."""
        if self._weights_digest is None:
            self._weights_digest = files_digest(self._loaded.folders)
        return self._weights_digest

    async def aclose(self) -> None:
        """Stop the batch worker and let go of the weights (GPU memory returns to the device)."""
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)  # a later complete() fails with a clear error
        self._loaded.model = None
        if self._loaded.device.startswith("cuda"):
            self._torch.cuda.empty_cache()


def _tool_parser(model: ModelConfig) -> str | None:
    """The ``tool_parser`` option (``_tool_text``): how tool calls are read from the decoded text."""
    value = model.options.get("tool_parser")
    if value is not None and value not in PARSERS:
        raise ConfigError(
            f"model {model.name!r} (transformers): tool_parser {value!r} is not one of {', '.join(PARSERS)}; "
            'set tool_parser = "tags" for <tool_call> blocks (Qwen, Hermes) or "json" for a JSON object'
        )
    return value


def create(model: ModelConfig, context: ProviderContext) -> TransformersProvider:
    return TransformersProvider(model, context)
