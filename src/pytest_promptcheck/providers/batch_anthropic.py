"""Anthropic's Message Batches through the official SDK: ``messages.batches.create``, ``retrieve``, ``results``.

Each request's ``params`` are the body the direct call would send (:meth:`AnthropicProvider._body`);
a ``succeeded`` result's message is read by the direct call's parser, so a batched answer is the
same Completion. ``errored`` results carry the API's error; ``expired`` and ``canceled`` ones say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ProviderError
from ._sdk import guarded, provider_error, server_words
from .anthropic import AnthropicProvider, _typed_words
from .base import ModelRequest
from .batches import BatchAnswer, BatchProgress


class AnthropicBatches:
    def __init__(self, provider: AnthropicProvider) -> None:
        self.provider = provider
        self.client = provider.client

    async def _sdk(self, call: Any) -> Any:
        return await guarded(
            self.provider._anthropic, call, provider="anthropic", model=self.provider.model.name,
            base_url=str(self.client.base_url), timeout=self.provider._timeout, server_words=_typed_words,
        )  # fmt: skip

    def body(self, request: ModelRequest) -> dict[str, Any]:
        return self.provider._body(request)

    async def submit(self, bodies: Sequence[tuple[str, dict[str, Any]]]) -> str:
        entries: list[Any] = [{"custom_id": cid, "params": body} for cid, body in bodies]
        batch = await self._sdk(self.client.messages.batches.create(requests=entries))
        return str(batch.id)

    async def progress(self, batch_id: str) -> BatchProgress:
        batch = await self._sdk(self.client.messages.batches.retrieve(batch_id))
        counts = batch.request_counts
        failed = counts.errored + counts.expired + counts.canceled
        return BatchProgress(str(batch.processing_status), batch.processing_status == "ended", counts.succeeded,
                             failed, counts.processing)  # fmt: skip

    async def results(self, batch_id: str) -> dict[str, BatchAnswer]:
        answers: dict[str, BatchAnswer] = {}
        async for entry in await self._sdk(self.client.messages.batches.results(batch_id)):
            answers[str(entry.custom_id)] = self._answer(entry.result.model_dump(mode="json"))
        return answers

    def _answer(self, result: dict[str, Any]) -> BatchAnswer:
        kind = result.get("type")
        if kind == "succeeded":
            try:
                return self.provider._completion(result.get("message"))
            except ProviderError as exc:
                return exc
        error = result.get("error")
        words = server_words(error, typed=True) if isinstance(error, dict) else None
        return provider_error("anthropic", self.provider.model.name, words or f"the request's result is {kind!r}")
