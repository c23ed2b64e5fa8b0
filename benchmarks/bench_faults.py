"""A run under injected rate limiting and server errors, beside the same run fault-free.

    python benchmarks/bench_faults.py --cases 320 --latency 0.5 --faults 0.2 --concurrency 16

One `pytest` run of N echo cases against the tests' local server (tests/llm_server.py, in this
process) with no faults, then the same run with a share of requests answered 429 or 500 (half
each, seeded) with ``Retry-After: 1``. Each run is a fresh process with --pc-no-cache. It reports
the wall time of each, their ratio, and the verdicts (every case must pass: a lost verdict is a
case that errored). The goal (issue 13): the faulted run within 2x the fault-free one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_suite import child_env

from llm_server import LLMServer


def _project(folder: Path, base_url: str, cases: int, concurrency: int) -> None:
    (folder / "pyproject.toml").write_text(
        '[tool.promptcheck]\nmodels = ["gpt"]\nretries = 8\n\n[tool.promptcheck.model.gpt]\n'
        f'provider = "openai"\nmodel = "gpt-test"\nbase_url = "{base_url}"\nconcurrency = {concurrency}\n',
        encoding="utf-8",
    )
    lines = ['prompts: {p: "{{ x }}"}', "cases:"]
    lines += [f"  - {{id: c{i}, vars: {{x: 'reply {i}'}}, assert: [{{equals: 'reply {i}'}}]}}" for i in range(cases)]
    (folder / "test_faults.prompts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(folder: Path) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pc-no-cache"],
        cwd=folder, capture_output=True, text=True, env=child_env(),
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    tail = [line for line in proc.stdout.splitlines() if " passed" in line or " failed" in line or " error" in line]
    return elapsed, tail[-1] if tail else proc.stdout[-300:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=320)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--faults", type=float, default=0.2, help="share of requests faulted (429 and 500, half each)")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    server = LLMServer().start()
    try:
        server.set_latency(args.latency)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            _project(folder, server.base_url, args.cases, args.concurrency)
            clean, clean_verdicts = _run(folder)
            clean_requests = server.request_count
            server.reset()
            server.set_latency(args.latency)
            half = args.faults / 2
            server.add_fault("status", status=429, retry_after=1, probability=half, seed=1)
            server.add_fault("status", status=500, retry_after=1, probability=half / (1 - half), seed=2)
            faulted, faulted_verdicts = _run(folder)
            statuses = [r.status for r in server.requests]
    finally:
        server.stop()
    print(f"cases {args.cases}, latency {args.latency:g} s, concurrency {args.concurrency}, faults {args.faults:.0%}")
    print(f"fault-free: {clean:.1f} s ({clean_requests} requests): {clean_verdicts}")
    print(
        f"faulted:    {faulted:.1f} s ({len(statuses)} requests: {statuses.count(429)} x 429, "
        f"{statuses.count(500)} x 500): {faulted_verdicts}"
    )
    print(f"ratio faulted / fault-free: {faulted / clean:.2f}x")


if __name__ == "__main__":
    main()
