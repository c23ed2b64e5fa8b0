"""Runs model calls on an asyncio loop in a background thread.

pytest runs items one after another on the main thread; the engine lets their model calls run
concurrently underneath, each model limited to its own number of in-flight calls. Items wait for
their own calls in their setup phase, so a provider failure is reported as an *error*.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from dataclasses import replace
from urllib.parse import urlparse

from .config import ModelConfig, ProjectConfig
from .errors import ProviderError
from .providers.base import Completion, ModelRequest, Provider, ProviderContext, ProviderFactory

_LOCAL_SERVER_CONCURRENCY = 4  # local OpenAI-compatible servers choke at high concurrency
_DEFAULT_BATCH_SIZE = 16
_GRACE_S = 1.0


def concurrency_limit(model: ModelConfig, project: ProjectConfig) -> int:
    """In-flight calls allowed for ``model``: its own setting, else by kind of backend (SPEC §3)."""
    if model.concurrency:
        return int(model.concurrency)
    if model.provider == "transformers":
        return int(model.batch_size or _DEFAULT_BATCH_SIZE)
    host = urlparse(model.base_url or "").hostname or ""
    if model.base_url and "${" not in model.base_url and (host == "localhost" or host.startswith("127.")):
        return _LOCAL_SERVER_CONCURRENCY
    return project.concurrency


class Engine:
    """One per session (per process under xdist). Thread-safe ``submit``; ``close`` at session end."""

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._providers: dict[str, Provider] = {}
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="promptcheck-engine", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def submit(
        self, model: ModelConfig, factory: ProviderFactory, request: ModelRequest
    ) -> concurrent.futures.Future[Completion]:
        """Schedule one call; the future holds the completion or the provider's exception."""
        return asyncio.run_coroutine_threadsafe(self._call(model, factory, request), self._ensure_loop())

    async def _call(self, model: ModelConfig, factory: ProviderFactory, request: ModelRequest) -> Completion:
        provider = self._providers.get(model.name)
        if provider is None:
            provider = factory(model, self.context)  # on the loop thread: clients bind to this loop
            self._providers[model.name] = provider
        semaphore = self._semaphores.get(model.name)
        if semaphore is None:
            semaphore = self._semaphores[model.name] = asyncio.Semaphore(concurrency_limit(model, self.context.project))
        async with semaphore:
            start = time.perf_counter()
            try:
                # Every call ends: a provider (or a user's python model) that ignores its own timeout
                # is cut off here, a little later, so its own timeout message wins when it has one.
                completion = await asyncio.wait_for(provider.complete(request), request.timeout + _GRACE_S)
            except asyncio.TimeoutError:
                raise ProviderError(
                    model.provider, model.name, f"no answer within {request.timeout:g} s (timeout)", retryable=True
                ) from None
            elapsed_ms = (time.perf_counter() - start) * 1000
        if completion.latency_ms is None:
            completion = replace(completion, latency_ms=elapsed_ms)
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
                with contextlib.suppress(Exception):  # best effort: a failed close must not hide results
                    await provider.aclose()

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(_shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        self._loop = None
