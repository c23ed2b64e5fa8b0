"""The ``tiny_checkpoints`` session fixture: real tiny transformers checkpoints, built once per session.

Built by tests/tiny_models.py into a session temp folder (no model hub: ``HF_HUB_OFFLINE=1``).
torch, transformers and peft are imported only when a test asks for the fixture, so test modules
that do not use local models never pay for them.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tiny_models import build_tiny_checkpoints, messages_for, tickets

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported: nothing may reach a hub

# Steps measured on a 2-core machine: ~15 s for all three models; base and tuned answer 40/40
# held-out tickets under their own labelling schemes, the adapter ~25/40 (see tiny_models.py).
BASE_STEPS = 120
TUNE_STEPS = 80


@dataclass(frozen=True)
class TinyCheckpoints:
    """Folders of the built models: ``base``, ``tuned`` (full fine-tune), ``lora`` (adapter over base)."""

    base: Path
    tuned: Path
    lora: Path
    build_s: float


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TinyCheckpoints]:
    for name in ("torch", "transformers", "peft"):
        pytest.importorskip(name)
    import torch

    threads = torch.get_num_threads()
    # One thread for the whole session: these models are too small to gain from more, and on a
    # busy 2-core CI machine torch's spinning worker threads made each step ~15x slower.
    torch.set_num_threads(1)
    start = time.perf_counter()
    folders = build_tiny_checkpoints(
        tmp_path_factory.mktemp("tiny-models"), base_steps=BASE_STEPS, tune_steps=TUNE_STEPS
    )
    checkpoints = TinyCheckpoints(**folders, build_s=time.perf_counter() - start)
    _warm_up(checkpoints)
    yield checkpoints
    torch.set_num_threads(threads)


def _warm_up(checkpoints: TinyCheckpoints) -> None:
    """Load and generate once (adapter, greedy and sampled) so every module transformers and peft
    import lazily lives in this process before any ``pytester.runpytest()``.

    In-process pytester runs drop the modules a run imported; re-importing transformers' model
    modules (and torch's registrations under them) in the next run is slow at best.
    """
    from pytest_promptcheck.config import ProjectConfig
    from pytest_promptcheck.config_models import ModelConfig
    from pytest_promptcheck.providers.base import ModelRequest, ProviderContext
    from pytest_promptcheck.providers.transformers import create

    root = checkpoints.base.parent
    model = ModelConfig(name="warm", provider="transformers", path=str(checkpoints.base), adapter=str(checkpoints.lora))
    provider = create(model, ProviderContext(ProjectConfig(root=root), root))
    messages = tuple(messages_for(tickets(1, seed=0)[0]))

    async def run() -> None:
        try:
            await provider.complete(ModelRequest(messages=messages, params={"max_new_tokens": 4}))
            await provider.complete(ModelRequest(messages=messages, params={"max_new_tokens": 4, "temperature": 1}))
        finally:
            await provider.aclose()

    asyncio.run(run())
