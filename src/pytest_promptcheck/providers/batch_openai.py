"""OpenAI's Batch API through the official SDK: a JSONL input file (Files API), ``/v1/batches``, result files.

Each input line is ``{custom_id, method: POST, url: /v1/chat/completions, body}`` with the body the
direct call would send (:meth:`OpenAIProvider._body`); each output line's ``response.body`` is read
by the direct call's parser, so a batched answer is the same Completion. Requests that failed sit
in the error file (with their HTTP status and body, or an ``error`` such as ``batch_expired``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..errors import ProviderError
from ._sdk import guarded, provider_error, server_words
from .base import ModelRequest
from .batches import BatchAnswer, BatchProgress
from .openai import OpenAIProvider

_ENDPOINT = "/v1/chat/completions"
_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})


class OpenAIBatches:
    def __init__(self, provider: OpenAIProvider) -> None:
        self.provider = provider
        self.client = provider.client

    async def _sdk(self, call: Any) -> Any:
        return await guarded(
            self.provider._openai, call, provider="openai", model=self.provider.model.name,
            base_url=str(self.client.base_url), timeout=self.provider._timeout, server_words=server_words,
        )  # fmt: skip

    def body(self, request: ModelRequest) -> dict[str, Any]:
        return self.provider._body(request)

    async def submit(self, bodies: Sequence[tuple[str, dict[str, Any]]]) -> str:
        lines = [
            json.dumps({"custom_id": cid, "method": "POST", "url": _ENDPOINT, "body": body}) for cid, body in bodies
        ]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        uploaded = await self._sdk(self.client.files.create(file=("promptcheck-batch.jsonl", data), purpose="batch"))
        batch = await self._sdk(
            self.client.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
        )
        return str(batch.id)

    async def progress(self, batch_id: str) -> BatchProgress:
        batch = await self._sdk(self.client.batches.retrieve(batch_id))
        counts = batch.request_counts
        done, failed, total = (counts.completed, counts.failed, counts.total) if counts is not None else (0, 0, 0)
        problem = None
        if batch.status == "failed":
            errors = getattr(batch.errors, "data", None) or []
            problem = "; ".join(f"{e.code}: {e.message}" + (f" (line {e.line})" if e.line else "") for e in errors)
        return BatchProgress(str(batch.status), batch.status in _ENDED, done, failed, max(total - done - failed, 0),
                             problem or None)  # fmt: skip

    async def results(self, batch_id: str) -> dict[str, BatchAnswer]:
        batch = await self._sdk(self.client.batches.retrieve(batch_id))
        answers: dict[str, BatchAnswer] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = await self._sdk(self.client.files.content(file_id))
                for line in content.text.splitlines():
                    if line.strip():
                        entry = json.loads(line)
                        answers[str(entry.get("custom_id"))] = self._answer(entry)
        return answers

    def _answer(self, entry: dict[str, Any]) -> BatchAnswer:
        """One output or error line: the Completion, or the request's error in the server's words."""
        response: dict[str, Any] = entry["response"] if isinstance(entry.get("response"), dict) else {}
        body = response.get("body")
        status = response.get("status_code")
        if status == 200:
            try:
                return self.provider._completion(body)
            except ProviderError as exc:
                return exc
        error: dict[str, Any] = entry["error"] if isinstance(entry.get("error"), dict) else {}
        words = (server_words(body) if isinstance(body, dict) else None) or error.get("message") or json.dumps(entry)
        code = error.get("code")
        return provider_error("openai", self.provider.model.name, f"{code}: {words}" if code else str(words),
                              status=status if isinstance(status, int) else None)  # fmt: skip
