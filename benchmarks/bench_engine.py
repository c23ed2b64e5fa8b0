"""Engine throughput against a local OpenAI-compatible server, beside the bare AsyncOpenAI client.

    python benchmarks/bench_engine.py --cases 1000 --latency 0.2 --concurrency 32

One run on one machine, in this order: (1) the bare client makes N calls with the same
concurrency (asyncio + a semaphore) in a child process, (2) `pytest` runs an N-case suite on the
same server through pytest-promptcheck, (3) 1-call runs of both, for startup and the fixed CPU
cost. The server (tests/llm_server.py, in this process) answers each request after `latency`
seconds. "span" is first request to last response as the server sees them; the ideal is N·L/C.
CPU per call = (CPU of the N-call run − CPU of the 1-call run) / (N − 1), so imports and
startup do not count. Startup = wall time of a 1-case `pytest` run against a server with no
latency (parse cache warm, as in a developer's second run). Every pytest run passes --pc-no-cache:
the response cache would otherwise answer the measured runs without a single request.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_suite import child_env

from llm_server import LLMServer


def _span(server: LLMServer, latency: float) -> float:
    times = [r.received_at for r in server.requests]
    return max(times) + latency - min(times)


_BARE = """
import asyncio, sys
import openai

async def main(base_url, cases, concurrency):
    client = openai.AsyncOpenAI(api_key="x", base_url=base_url, max_retries=0, timeout=60)
    limit = asyncio.Semaphore(concurrency)

    async def one(i):
        async with limit:
            await client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": f"reply {i}"}], seed=i
            )

    await asyncio.gather(*(one(i) for i in range(cases)))
    await client.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def _bare_client(base_url: str, cases: int, concurrency: int) -> float:
    """CPU seconds of a child process making ``cases`` calls with the bare SDK."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", _BARE, base_url, str(cases), str(concurrency)], check=True, env=child_env())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _write_project(root: Path, base_url: str, cases: int, concurrency: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\n\n[tool.promptcheck]\nmodels = ["gpt"]\n\n'
        f'[tool.promptcheck.model.gpt]\nprovider = "openai"\nmodel = "gpt-test"\nbase_url = "{base_url}"\n'
        f"concurrency = {concurrency}\n"
    )
    lines = ['prompts: {p: "{{ x }}"}', "cases:"]
    lines += [f"  - {{id: c{i}, vars: {{x: 'reply {i}'}}, assert: [{{equals: 'reply {i}'}}]}}" for i in range(cases)]
    (root / "test_bench.prompts.yaml").write_text("\n".join(lines) + "\n")


def _pytest(root: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one `python -m pytest -q` in ``root``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--pc-no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env=child_env(),
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"pytest failed in {root}:\n{proc.stdout[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    n, lat, c = args.cases, args.latency, args.concurrency
    ideal = n * lat / c
    with LLMServer(latency=lat) as server, tempfile.TemporaryDirectory() as tmp:
        bare_cpu_one = _bare_client(server.base_url, 1, c)
        server.reset()
        server.set_latency(lat)
        bare_cpu = _bare_client(server.base_url, n, c)
        bare = _span(server, lat)
        server.reset()
        server.set_latency(lat)
        _write_project(Path(tmp) / "big", server.base_url, n, c)
        _pytest(Path(tmp) / "big")  # fill the parse cache, as a developer's first run would
        server.reset()
        server.set_latency(lat)
        wall_big, cpu_big = _pytest(Path(tmp) / "big")
        engine = _span(server, lat)
        peak = server.peak_in_flight
        server.reset()  # no latency: startup alone
        _write_project(Path(tmp) / "one", server.base_url, 1, c)
        runs = [_pytest(Path(tmp) / "one") for _ in range(4)][1:]
        startup = statistics.median(w for w, _ in runs)
        cpu_one = statistics.median(cpu for _, cpu in runs)
    print(f"| N={n}, L={lat * 1000:.0f} ms, C={c} | span s | efficiency (ideal N·L/C = {ideal:.2f} s) | CPU per call |")
    print("|---|---|---|---|")
    print(
        f"| bare AsyncOpenAI + semaphore | {bare:.2f} | {ideal / bare:.2f} | {(bare_cpu - bare_cpu_one) / (n - 1) * 1000:.2f} ms |"
    )
    print(f"| pytest-promptcheck (peak in flight {peak}) | {engine:.2f} | {ideal / engine:.2f} "
          f"({(ideal / engine) / (ideal / bare):.0%} of the bare client) | {(cpu_big - cpu_one) / (n - 1) * 1000:.2f} ms |")  # fmt: skip
    print()
    print(f"pytest wall time for the {n}-case run: {wall_big:.2f} s")
    print(f"startup, 1-case run on a server without latency (median of 3, wall): {startup:.2f} s")


if __name__ == "__main__":
    main()
