"""Runs model calls on an asyncio loop in a background thread.

pytest runs items one after another on the main thread; the engine runs their model calls
concurrently underneath (the scheduler in :mod:`.schedule` decides which calls to start ahead).
Per model: an adaptive concurrency limit, retries with backoff (:mod:`.retry`), a hard timeout,
and one provider instance per process. Identical calls within a run are made once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import random
import sys
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from .config import ModelConfig, ProjectConfig
from .errors import ProviderError
from .providers.base import Completion, ModelRequest, Provider, ProviderContext, ProviderFactory
from .retry import AdaptiveLimiter, RetryPolicy

_LOCAL_SERVER_CONCURRENCY = 4  # local OpenAI-compatible servers choke at high concurrency
_DEFAULT_BATCH_SIZE = 16
_GRACE_S = 1.0  # the engine's own timeout fires this much after the provider's, so theirs reports first


def concurrency_limit(model: ModelConfig, project: ProjectConfig) -> int:
    """In-flight calls allowed for ``model``: --pc-concurrency, its own setting, else by backend (SPEC §3)."""
    if project.cli_concurrency:
        return project.cli_concurrency
    if model.concurrency:
        return int(model.concurrency)
    if model.provider == "transformers":
        return int(model.batch_size or _DEFAULT_BATCH_SIZE)
    host = urlparse(model.base_url or "").hostname or ""
    if model.base_url and "${" not in model.base_url and (host == "localhost" or host.startswith("127.")):
        return _LOCAL_SERVER_CONCURRENCY
    return project.concurrency


def call_key(model: ModelConfig, request: ModelRequest) -> str:
    """Identity of a call: same model, messages, params, seed and sample index → same answer."""
    blob = json.dumps(
        [model.name, model.describe(), request.messages, request.params, request.seed, request.sample_index],
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class EngineStats:
    calls: int = 0  # distinct calls submitted
    reused: int = 0  # identical calls answered by an earlier one
    retries: int = 0
    failed: int = 0
    peak_in_flight: dict[str, int] = field(default_factory=dict)


class Engine:
    """One per session (per process under xdist). Thread-safe ``submit``; ``close`` at session end."""

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.policy = RetryPolicy(max_retries=context.project.retries)
        self.stats = EngineStats()
        self._rng = random.Random(context.project.seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._providers: dict[str, Provider | BaseException] = {}
        self._limiters: dict[str, AdaptiveLimiter] = {}
        self._calls: dict[str, concurrent.futures.Future[Completion]] = {}

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="promptcheck-engine", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def submit(
        self, model: ModelConfig, factory: ProviderFactory, request: ModelRequest
    ) -> concurrent.futures.Future[Completion]:
        """Schedule one call (or join an identical one); the future holds the completion or the error."""
        key = call_key(model, request)
        with self._lock:
            existing = self._calls.get(key)
            if existing is not None:
                self.stats.reused += 1
                return existing
            self.stats.calls += 1
            future = asyncio.run_coroutine_threadsafe(self._call(model, factory, request), self._ensure_loop())
            self._calls[key] = future
            return future

    def _provider(self, model: ModelConfig, factory: ProviderFactory) -> Provider:
        found = self._providers.get(model.name)
        if found is None:
            try:
                found = factory(model, self.context)  # on the loop thread: clients bind to this loop
            except Exception as exc:  # e.g. a missing API key: every call of this model gets the same error
                found = exc
            self._providers[model.name] = found
        if isinstance(found, BaseException):
            raise found
        return found

    def _limiter(self, model: ModelConfig) -> AdaptiveLimiter:
        limiter = self._limiters.get(model.name)
        if limiter is None:
            limiter = self._limiters[model.name] = AdaptiveLimiter(concurrency_limit(model, self.context.project))
        return limiter

    async def _call(self, model: ModelConfig, factory: ProviderFactory, request: ModelRequest) -> Completion:
        provider = self._provider(model, factory)
        limiter = self._limiter(model)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            error = None
            await limiter.acquire()
            try:
                completion = await self._attempt(provider, model, request)
            except ProviderError as exc:
                error = exc
            finally:
                rate_limited = error is not None and error.status == 429
                limiter.release(rate_limited=rate_limited)
                self.stats.peak_in_flight[model.name] = limiter.peak
            if error is None:
                return completion
            if not error.retryable or attempt > self.policy.max_retries:
                self.stats.failed += 1
                raise _gave_up(error, attempt, time.monotonic() - started)
            self.stats.retries += 1
            await asyncio.sleep(self.policy.delay(attempt, error, self._rng))

    async def _attempt(self, provider: Provider, model: ModelConfig, request: ModelRequest) -> Completion:
        start = time.perf_counter()
        try:
            # Every call ends: a provider (or a user's python model) that ignores its own timeout is
            # cut off here, a little later, so its own timeout message wins when it has one.
            completion = await _with_timeout(provider.complete(request), request.timeout + _GRACE_S)
        except asyncio.TimeoutError:
            raise ProviderError(
                model.provider, model.name, f"no answer within {request.timeout:g} s (timeout)", retryable=True
            ) from None
        if completion.latency_ms is None:
            completion = replace(completion, latency_ms=(time.perf_counter() - start) * 1000)
        return completion

    def close(self) -> None:
        """Cancel what is still running, close provider clients, stop the loop thread."""
        loop = self._loop
        if loop is None:
            return

        async def _shutdown() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for provider in self._providers.values():
                if not isinstance(provider, BaseException):
                    with contextlib.suppress(Exception):  # best effort: a failed close must not hide results
                        await provider.aclose()

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(_shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        self._loop = None


async def _with_timeout(call: Coroutine[Any, Any, Completion], seconds: float) -> Completion:
    if sys.version_info >= (3, 11):  # asyncio.timeout needs no extra task per call, unlike wait_for
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)  # pragma: no cover - Python 3.10


def _gave_up(error: ProviderError, attempts: int, elapsed: float) -> ProviderError:
    if attempts == 1:
        return error
    return ProviderError(
        error.provider, error.model, f"{error.detail} (gave up after {attempts} attempts in {elapsed:.1f} s)",
        status=error.status, retryable=False,
    )  # fmt: skip


__all__ = ["Engine", "EngineStats", "call_key", "concurrency_limit"]
