"""Fixtures around tests/llm_server.py: ``llm_server`` (a fresh local LLM API server per test),
``openai_warm`` and ``anthropic_warm`` (each SDK fully imported in the test process)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import llm_server_batches  # noqa: F401  # registers the batch APIs' routes on every test server
from llm_server import LLMServer


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A running :class:`~llm_server.LLMServer` on 127.0.0.1 (random port), stopped after the test.

    ``.base_url`` (OpenAI SDKs: ``http://127.0.0.1:PORT/v1``), ``.anthropic_base_url`` (the Anthropic
    SDK: ``http://127.0.0.1:PORT``, it appends ``/v1/messages``), ``.url``, ``.requests``,
    ``.request_count``, ``.peak_in_flight``, ``.reset()``, ``.set_latency(s)``, ``.add_fault(kind, ...)``,
    ``.responder`` (settable), ``.wait_for_requests(n)``, ``.errors``.
    """
    server = LLMServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def openai_warm() -> None:
    """Make one real SDK call here, so every module the SDK imports lazily (its HTTP stack) lives in
    this process before any ``pytester.runpytest()``.

    In-process pytester runs drop the modules a run imported. A lazily imported HTTP stack would
    then be imported anew by the next run while the SDK kept the first copy's exception classes,
    so a timeout or a dropped connection would escape the SDK's error mapping as a raw exception.
    (It also saves re-importing the SDK, ~0.5 s, in every run.)
    """
    openai = pytest.importorskip("openai")

    async def call(base_url: str) -> None:
        async with openai.AsyncOpenAI(api_key="warm-up", base_url=base_url, max_retries=0, timeout=5) as client:
            await client.chat.completions.create(model="warm-up", messages=[{"role": "user", "content": "hi"}])

    with LLMServer() as server:
        asyncio.run(call(server.base_url))


@pytest.fixture(scope="session")
def anthropic_warm() -> None:
    """One real anthropic SDK call in this process, for the reasons given in ``openai_warm``."""
    anthropic = pytest.importorskip("anthropic")

    async def call(base_url: str) -> None:
        async with anthropic.AsyncAnthropic(api_key="warm-up", base_url=base_url, max_retries=0, timeout=5) as client:
            await client.messages.create(model="warm-up", max_tokens=8, messages=[{"role": "user", "content": "hi"}])

    with LLMServer() as server:
        asyncio.run(call(server.anthropic_base_url))
