"""What the batch APIs share (OpenAI's Batch API, Anthropic's Message Batches): the protocol and its types.

A :class:`BatchAPI` wraps a model's provider (its SDK client, its request builder and its reply
parser), so a batched request's body is the direct call's body and a batched answer becomes the
same :class:`~.base.Completion` (``batch_openai``, ``batch_anthropic``). ``calls/batch.py`` picks
one (``batch_api``) and drives it: submit, poll, collect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .base import Completion, ModelRequest

BatchAnswer = Completion | Exception  # a request's result: the completion, or why it has none


@dataclass(frozen=True)
class BatchProgress:
    """A batch as its API reports it: its state in the API's words and its request counts."""

    status: str
    ended: bool
    done: int
    failed: int
    left: int
    problem: str | None = None  # why the whole batch failed (e.g. OpenAI's validation errors)


class BatchAPI(Protocol):
    def body(self, request: ModelRequest) -> dict[str, Any]:
        """The request's body, as the direct call sends it (raises ConfigError for a prompt the API refuses)."""
        ...

    async def submit(self, bodies: Sequence[tuple[str, dict[str, Any]]]) -> str:
        """Submit ``(custom id, body)`` pairs as one batch; its id (raises ProviderError)."""
        ...

    async def progress(self, batch_id: str) -> BatchProgress: ...

    async def results(self, batch_id: str) -> dict[str, BatchAnswer]:
        """The answered requests by custom id (those the batch never reached are absent)."""
        ...
