"""Runs model calls on an asyncio loop in a background thread.

pytest runs items one after another on the main thread; the engine runs their model calls
concurrently underneath (the scheduler in :mod:`.schedule` decides which calls to start ahead).
Per model: an adaptive concurrency limit (:mod:`.limits`), retries with backoff (:mod:`.retry`), a hard timeout,
and one provider instance per process. Identical calls within a run are made once.

Before any provider (:class:`CallStores`, SPEC §8): with ``--pc-replay`` every call is answered
from the cassettes right in ``submit`` (no provider is ever created); otherwise the response cache
is asked first and stores each successful answer. With ``--pc-record`` every answer is logged.
Calls a provider batch answered (``--pc-batch``, :mod:`.batch`) are answered from ``CallStores.batched``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import random
import sys
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..config_models import ModelConfig
from ..errors import ProviderError
from ..providers.base import Completion, ModelRequest, Provider, ProviderContext, ProviderFactory
from ..providers.identity import model_identity_without_provider, provider_identity
from .keys import cache_key, run_key
from .limits import EndpointCaps, concurrency_limit
from .retry import AdaptiveLimiter, RetryPolicy, gave_up

if TYPE_CHECKING:
    from ..stores.cassettes import CallLog, CassetteIndex
    from ..stores.response_cache import ResponseCache

# HTTP endpoints: probed by their first call
_REMOTE_PROVIDERS = frozenset({"openai", "anthropic", "azure-openai", "bedrock"})
_GRACE_S = 1.0  # the engine's own timeout fires this much after the provider's, so theirs reports first


@dataclass
class EngineStats:
    calls: int = 0  # distinct calls submitted
    reused: int = 0  # identical calls answered by an earlier one
    retries: int = 0
    failed: int = 0
    cache_hits: int = 0
    replayed: int = 0
    peak_in_flight: dict[str, int] = field(default_factory=dict)


@dataclass
class CallStores:
    """What answers calls besides providers: cassettes (replay), the response cache, the record log."""

    cache: ResponseCache | None = None
    replay: CassetteIndex | None = None
    recorder: CallLog | None = None
    batched: dict[str, Completion | Exception] = field(default_factory=dict)  # by run key, from calls/batch.py


class Engine:
    """One per session (per process under xdist). Thread-safe ``submit``; ``close`` at session end."""

    def __init__(self, context: ProviderContext, stores: CallStores | None = None) -> None:
        self.context = context
        self.stores = stores or CallStores()
        self.policy = RetryPolicy(max_retries=context.project.retries)
        self.stats = EngineStats()
        self._rng = random.Random(context.project.seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._providers: dict[str, Provider | BaseException] = {}
        self._creations: dict[str, asyncio.Future[Provider | BaseException]] = {}
        # The first call of each remote model probes its endpoint; the others wait for it: a dead
        # endpoint then costs one call's retries, not every call's (None: it answered).
        self._probes: dict[str, asyncio.Future[ProviderError | None]] = {}
        self._creating = threading.Lock()
        self._limiters: dict[str, AdaptiveLimiter] = {}
        self._endpoint_caps = EndpointCaps(context.project.endpoints)  # all models of a server together
        self._calls: dict[str, concurrent.futures.Future[Completion]] = {}
        self._identities: dict[str, asyncio.Future[str]] = {}
        self._known_identities: dict[str, str] = {}  # the finished ones, readable from any thread

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
        key = run_key(model, request)
        with self._lock:
            if self.stores.recorder is not None and request.case_id is None:
                self.stores.recorder.note_unowned(key)  # a judge call: the item being set up claims it
            existing = self._calls.get(key)
            if existing is not None:
                self.stats.reused += 1
                return existing
            self.stats.calls += 1
            batched = self.stores.batched.pop(key, None) if self.stores.batched else None
            hit, stored_as = self._cached_now(model, request, key) if batched is None else (None, None)
            if self.stores.replay is not None:
                future = self._replayed(model, request, key)
            elif batched is not None:
                future = self._from_batch(key, model, request, batched)
            elif hit is not None:
                future = hit
            else:
                call = self._call(model, factory, request, key, stored_as)
                future = asyncio.run_coroutine_threadsafe(call, self._ensure_loop())
            self._calls[key] = future
            return future

    def _cached_now(
        self, model: ModelConfig, request: ModelRequest, key: str
    ) -> tuple[concurrent.futures.Future[Completion] | None, str | None]:
        """A cache hit answered on the caller's thread, once the model's identity is known (no loop round trip).

        Returns (the answered future or None, the cache key when it was looked up and missed).
        """
        cache, identity = self.stores.cache, self._known_identities.get(model.name)
        if cache is None or identity is None:
            return None, None
        stored_as = cache_key(model, request, identity)
        hit = cache.get(stored_as)
        if hit is None:
            return None, stored_as
        self.stats.cache_hits += 1
        future: concurrent.futures.Future[Completion] = concurrent.futures.Future()
        future.set_result(self._answered(key, model, request, hit))
        return future, None

    def _replayed(self, model: ModelConfig, request: ModelRequest, key: str) -> concurrent.futures.Future[Completion]:
        """Answered here, on the caller's thread: a dictionary lookup needs no event loop."""
        assert self.stores.replay is not None
        future: concurrent.futures.Future[Completion] = concurrent.futures.Future()
        try:
            future.set_result(self.stores.replay.answer(model, request, key))
            self.stats.replayed += 1
        except ProviderError as exc:
            future.set_exception(exc)
        return future

    def _from_batch(
        self, key: str, model: ModelConfig, request: ModelRequest, answer: Completion | Exception
    ) -> concurrent.futures.Future[Completion]:
        """Answered by the model's batch (calls/batch.py) like a direct call, with no call made."""
        future: concurrent.futures.Future[Completion] = concurrent.futures.Future()
        if isinstance(answer, Exception):
            self.stats.failed += 1
            future.set_exception(answer)
        else:
            future.set_result(self._answered(key, model, request, answer))
        return future

    async def _provider(self, model: ModelConfig, factory: ProviderFactory) -> Provider:
        """The model's provider, created once, in a worker thread.

        Creating one can take seconds (an SDK's import, loading a checkpoint); on the loop thread that
        would stall every other model's calls while their clocks run. Creations are serialised
        (``_creating``): two at once raced on transformers' lazy imports.
        """
        found = self._providers.get(model.name)
        if found is None:
            pending = self._creations.get(model.name)
            if pending is None:
                pending = self._creations[model.name] = asyncio.ensure_future(
                    asyncio.to_thread(self._create, model, factory)
                )
            found = self._providers[model.name] = await pending
        if isinstance(found, BaseException):
            raise found
        return found

    def _create(self, model: ModelConfig, factory: ProviderFactory) -> Provider | BaseException:
        with self._creating:
            try:
                return factory(model, self.context)
            except Exception as exc:  # e.g. a missing API key: every call of this model gets the same error
                return exc

    def _limiter(self, model: ModelConfig) -> AdaptiveLimiter:
        limiter = self._limiters.get(model.name)
        if limiter is None:
            limiter = self._limiters[model.name] = AdaptiveLimiter(concurrency_limit(model, self.context.project))
        return limiter

    async def _identity(self, model: ModelConfig, factory: ProviderFactory) -> str:
        """The model's identity for cache keys, computed once per model (a checkpoint hash can take seconds)."""
        found = self._identities.get(model.name)
        if found is None:
            found = self._identities[model.name] = asyncio.ensure_future(self._compute_identity(model, factory))
        return await found

    async def _compute_identity(self, model: ModelConfig, factory: ProviderFactory) -> str:
        # Local weights are hashed without loading them, so a fully cached run never loads a model.
        local = await asyncio.to_thread(model_identity_without_provider, model, self.stores.cache)
        identity = local if local is not None else provider_identity(await self._provider(model, factory), model)
        self._known_identities[model.name] = identity
        return identity

    async def _call(
        self, model: ModelConfig, factory: ProviderFactory, request: ModelRequest, key: str, stored_as: str | None
    ) -> Completion:
        cache = self.stores.cache
        if cache is not None and stored_as is None:  # not looked up in submit yet
            stored_as = cache_key(model, request, await self._identity(model, factory))
            hit = cache.get(stored_as)
            if hit is not None:
                self.stats.cache_hits += 1
                return self._answered(key, model, request, hit)
        provider = await self._provider(model, factory)
        probe = self._probes.get(model.name)
        probing = probe is None and model.provider in _REMOTE_PROVIDERS
        if probing:
            probe = self._probes[model.name] = asyncio.get_running_loop().create_future()
        elif probe is not None:
            dead = await asyncio.shield(probe)
            if dead is not None:
                self.stats.failed += 1
                raise ProviderError(
                    dead.provider, dead.model, f"the endpoint did not answer this model's first call: {dead.detail}; "
                    "its other calls were not made", status=dead.status,
                )  # fmt: skip
        try:
            return await self._attempts(model, provider, request, key, stored_as, probe if probing else None)
        finally:
            if probing and probe is not None and not probe.done():
                probe.set_result(None)  # cancelled, or failed otherwise: let the waiting calls try themselves

    async def _attempts(
        self, model: ModelConfig, provider: Provider, request: ModelRequest, key: str, stored_as: str | None,
        probe: asyncio.Future[ProviderError | None] | None,
    ) -> Completion:  # fmt: skip
        cache = self.stores.cache
        limiter = self._limiter(model)
        started = time.monotonic()
        attempt = 0
        failures: list[ProviderError] = []  # every attempt's error: the first often holds the cause
        while True:
            attempt += 1
            error = None
            ticket = await limiter.acquire()
            try:
                completion = await self._capped_attempt(provider, model, request)
            except ProviderError as exc:
                error = exc
            finally:
                rate_limited = error is not None and error.status == 429
                limiter.release(ticket, rate_limited=rate_limited)
                self.stats.peak_in_flight[model.name] = limiter.peak
            if error is None:
                if probe is not None and not probe.done():
                    probe.set_result(None)
                if cache is not None and stored_as is not None:
                    cache.put(stored_as, completion)  # only answers are stored, never errors
                return self._answered(key, model, request, completion)
            failures.append(error)
            if probe is not None and not probe.done() and not error.connection:
                probe.set_result(None)  # the server answered (if with an error): the others may go
            if not error.retryable or attempt > self.policy.max_retries:
                self.stats.failed += 1
                final = gave_up(failures, time.monotonic() - started)
                if probe is not None and not probe.done():
                    probe.set_result(final)  # never answered: the endpoint is down
                raise final
            self.stats.retries += 1
            await asyncio.sleep(self.policy.delay(attempt, error, self._rng))

    def _answered(self, key: str, model: ModelConfig, request: ModelRequest, completion: Completion) -> Completion:
        if self.stores.recorder is not None:
            self.stores.recorder.add(key, model, request, completion)
        return completion

    async def _capped_attempt(self, provider: Provider, model: ModelConfig, request: ModelRequest) -> Completion:
        """One attempt, inside the endpoint's shared cap when there is one (taken after the model's own
        slot, always in that order, so two caps never wait on each other)."""
        cap = self._endpoint_caps.of(model)
        if cap is None:
            return await self._attempt(provider, model, request)
        async with cap:
            return await self._attempt(provider, model, request)

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

    def fingerprint(self, name: str, method: str = "fingerprint") -> dict[str, Any] | None:
        """The ``fingerprint()`` of model ``name``'s provider when it is running and has one (chat template,
        tokenizer, generation config hashes); read on the loop thread, where the provider lives.

        ``method="drift_details"``: what those hashes stand for, readable (to say what differs).
        """
        provider = self._providers.get(name)
        if provider is None or isinstance(provider, BaseException) or not hasattr(provider, method):
            return None

        async def read() -> dict[str, Any]:
            return dict(getattr(provider, method)())

        try:
            return asyncio.run_coroutine_threadsafe(read(), self._ensure_loop()).result(timeout=60)
        except Exception:  # a fingerprint is advice; never let it break a run
            return None

    def close(self) -> None:
        """Cancel what is still running, close provider clients, stop the loop thread, close the cache."""
        self._stop_loop()
        if self.stores.cache is not None:
            self.stores.cache.close()
        self.stores = CallStores()  # let go of the cassettes before pytest's final garbage collection

    def _stop_loop(self) -> None:
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


__all__ = ["CallStores", "Engine", "EngineStats"]
