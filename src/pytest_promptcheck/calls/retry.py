"""Retry policy and adaptive concurrency for model calls (owned by the engine, never by SDKs).

- Which failures are worth retrying is the provider's call (``ProviderError.retryable``: 429,
  5xx, timeouts, dropped connections); this module decides *when*.
- Backoff is exponential with full jitter (AWS architecture blog, "Exponential Backoff And
  Jitter"), and never shorter than what the server asked for with ``Retry-After``.
- Repeated 429s halve a model's concurrency (down to 1); successes win it back one slot at a
  time, so a rate-limited run slows down instead of hammering the API.
- A call that gives up raises one error naming every attempt's failure (``gave_up``).
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


_RECOVERY = 1  # successes per slot regained after a cut


class AdaptiveLimiter:
    """An asyncio semaphore whose limit drops on rate limiting and recovers with successes (AIMD).

    The limit halves at most once per window of in-flight calls, as TCP halves once per round trip:
    a burst of 429s answers calls that were all in flight when the first one came back, so they are
    one signal, not one each (each 429 halving again took 320 calls under 20% faults from 17 s to
    67 s). Only rate limiting cuts; 5xx and timeouts back off per call (``RetryPolicy``) and leave the
    limit alone. Used from the engine's loop thread only. Waiters queue FIFO and a release wakes
    exactly the waiters that can now run (a Condition's notify_all would wake all of them).
    """

    def __init__(self, limit: int) -> None:
        self.max_limit = max(1, limit)
        self.limit = self.max_limit
        self.in_flight = 0
        self.peak = 0
        self._successes = 0
        self._issued = 0  # slots handed out so far: each call's ticket
        self._cut_before = 0  # calls with a ticket below this were in flight at the last cut
        self._waiters: collections.deque[asyncio.Future[int]] = collections.deque()

    async def acquire(self) -> int:
        """Wait for a slot; the ticket to give back to :meth:`release`."""
        if self.in_flight < self.limit and not self._waiters:
            return self._take()
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # the slot is taken on our behalf before we are woken
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result())  # woken and cancelled at once: give the slot back
            else:
                self._waiters.remove(waiter)
            raise
        return waiter.result()

    def release(self, ticket: int | None = None, *, rate_limited: bool = False) -> None:
        """Give a slot back; ``rate_limited`` (a 429) halves the limit unless a cut already answered
        a call that was in flight with this one (``ticket`` from :meth:`acquire`)."""
        self.in_flight -= 1
        if rate_limited and (ticket is None or ticket >= self._cut_before):
            self.limit = max(1, self.limit // 2)
            self._cut_before = self._issued  # the calls in flight now were sent before this signal
            self._successes = 0
        elif rate_limited:
            self._successes = 0
        else:
            self._successes += 1
            if self.limit < self.max_limit and self._successes >= _RECOVERY:
                # one slot back per few successes: sporadic 429s leave the limit near its maximum,
                # while a sustained limit (a 429 in every window) still holds it down
                self.limit += 1
                self._successes = 0
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(self._take())

    def _take(self) -> int:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self._issued += 1
        return self._issued - 1


def gave_up(failures: list[ProviderError], elapsed: float) -> ProviderError:
    """The last error, saying how many attempts were made and, when they differ, what each one got:
    ``attempt 1: HTTP 500 ...; attempts 2-5: HTTP 429 ...``."""
    last, attempts = failures[-1], len(failures)
    if attempts == 1:
        return last
    runs: list[tuple[int, int, str]] = []  # (first attempt, last attempt, what it got)
    for number, failure in enumerate(failures, 1):
        said = (f"HTTP {failure.status} " if failure.status is not None else "") + failure.detail
        if runs and runs[-1][2] == said:
            runs[-1] = (runs[-1][0], number, said)
        else:
            runs.append((number, number, said))
    if len(runs) == 1:
        detail = last.detail
    else:
        detail = "; ".join(f"attempt {a}: {s}" if a == b else f"attempts {a}-{b}: {s}" for a, b, s in runs)
    return ProviderError(
        last.provider, last.model, f"{detail} (gave up after {attempts} attempts in {elapsed:.1f} s)",
        status=last.status, retryable=False,
    )  # fmt: skip
