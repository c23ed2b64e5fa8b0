"""Retry policy and adaptive concurrency for model calls (owned by the engine, never by SDKs).

- Which failures are worth retrying is the provider's call (``ProviderError.retryable``: 429,
  5xx, timeouts, dropped connections); this module decides *when*.
- Backoff is exponential with full jitter (AWS architecture blog, "Exponential Backoff And
  Jitter"), and never shorter than what the server asked for with ``Retry-After``.
- Repeated 429s halve a model's concurrency (down to 1); successes win it back one slot at a
  time, so a rate-limited run slows down instead of hammering the API.
"""

from __future__ import annotations

import asyncio
import collections
import random
from dataclasses import dataclass

from ..errors import ProviderError


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4  # attempts = max_retries + 1
    base_s: float = 0.5
    cap_s: float = 20.0

    def delay(self, attempt: int, error: ProviderError, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based) after ``error``."""
        backoff = rng.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt - 1)))
        if error.retry_after is not None:
            # The server's word is a floor; a little jitter spreads the herd that it released.
            return error.retry_after + rng.uniform(0, 0.1 * max(error.retry_after, 0.05))
        return backoff


class AdaptiveLimiter:
    """An asyncio semaphore whose limit drops on rate limiting and recovers with successes.

    Used from the engine's loop thread only. Waiters queue FIFO and a release wakes exactly the
    waiters that can now run (a Condition's notify_all would wake all of them for every call).
    """

    def __init__(self, limit: int) -> None:
        self.max_limit = max(1, limit)
        self.limit = self.max_limit
        self.in_flight = 0
        self.peak = 0
        self._successes = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self._take()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # the slot is taken on our behalf before we are woken
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # woken and cancelled at once: give the slot back
            else:
                self._waiters.remove(waiter)
            raise

    def release(self, *, rate_limited: bool = False) -> None:
        self.in_flight -= 1
        if rate_limited:
            self.limit = max(1, self.limit // 2)
            self._successes = 0
        else:
            self._successes += 1
            if self.limit < self.max_limit and self._successes >= self.limit:
                self.limit += 1  # additive increase: one slot per `limit` successes
                self._successes = 0
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._take()
                waiter.set_result(None)

    def _take(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
