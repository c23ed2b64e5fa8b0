"""Throughput of the transformers provider's dynamic batching: batch 16 vs one call at a time.

    python benchmarks/bench_batching.py --prompts 64 --repeats 3

Builds the tiny test checkpoints (tests/tiny_models.py, ~15 s; ``--models DIR`` reuses a build),
then sends N greedy calls through the real engine (pytest_promptcheck.calls.engine.Engine), which keeps
``batch_size`` calls in flight per transformers model, exactly as in a pytest run. The provider
batches whatever is in flight; batch_size 1 is the sequential baseline. Model loading is excluded
(one warm-up call first). Prints the median wall time of each mode as markdown table rows and
checks that both modes produced the same outputs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pytest_promptcheck.calls.engine import Engine
from pytest_promptcheck.config import ModelConfig, ProjectConfig
from pytest_promptcheck.providers.base import ModelRequest, ProviderContext
from pytest_promptcheck.providers.transformers import create
from tiny_models import build_tiny_checkpoints, messages_for, tickets


def _run(model_dir: Path, prompts: list[str], batch_size: int, max_new_tokens: int) -> tuple[float, list[str]]:
    """Seconds for all prompts through one engine (load excluded), and the outputs in prompt order."""
    context = ProviderContext(ProjectConfig(root=model_dir), model_dir)
    model = ModelConfig(name="tiny", provider="transformers", path=str(model_dir), batch_size=batch_size)
    params = {"max_new_tokens": max_new_tokens}
    requests = [ModelRequest(messages=tuple(messages_for(t)), params=params, seed=i) for i, t in enumerate(prompts)]
    engine = Engine(context)
    try:
        warm_up = ModelRequest(messages=tuple(messages_for("Hi.")), params=params, seed=-1)  # not in `requests`:
        engine.submit(model, create, warm_up).result()  # the engine answers identical calls once; loads the model
        start = time.perf_counter()
        futures = [engine.submit(model, create, r) for r in requests]
        outputs = [f.result().output for f in futures]
        return time.perf_counter() - start, outputs
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest for this tiny model)")
    parser.add_argument("--models", type=Path, help="a folder with a tiny build (base/ ...); built when absent")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    folder = args.models or Path(tempfile.mkdtemp(prefix="pc-tiny-"))
    if not (folder / "base" / "config.json").is_file():
        build_tiny_checkpoints(folder, base_steps=120, tune_steps=80)
    prompts = tickets(args.prompts, seed=4321)
    timings: dict[int, list[float]] = {args.batch_size: [], 1: []}
    results: dict[int, list[str]] = {}
    for _ in range(args.repeats):
        for size in timings:
            seconds, results[size] = _run(folder / "base", prompts, size, args.max_new_tokens)
            timings[size].append(seconds)
    if results[args.batch_size] != results[1]:
        raise SystemExit("batched greedy outputs differ from sequential ones")
    sequential = statistics.median(timings[1])
    print(f"| {args.prompts} prompts, max_new_tokens {args.max_new_tokens} | median s | prompts/s | speed-up |")
    print("|---|---|---|---|")
    for size, values in timings.items():
        median = statistics.median(values)
        label = "sequential (batch_size 1)" if size == 1 else f"batched (batch_size {size})"
        print(f"| {label} | {median:.2f} | {args.prompts / median:.0f} | {sequential / median:.1f}x |")


if __name__ == "__main__":
    main()
