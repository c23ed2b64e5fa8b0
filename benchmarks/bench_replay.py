"""Time a full `pytest --pc-replay` run of an N-case suite beside plain pytest running N trivial tests.

    python bench_replay.py --cases 10000 --repeats 5

The suite (gen_suite.py: one prompt variant, one `python` model, two assertions per case) is
recorded once with --pc-record; each measured run then answers every call from the cassette,
writes its run record and judges every case. "plain" runs one test function parametrized N times
(`assert` on a string): pytest's own floor for N passing items. "cached" is an ordinary run whose
calls all hit the response cache, for comparison. Runs alternate and each figure is the median wall
time of a fresh `python -m pytest -q` process (startup, collection with a warm parse cache, and the
terminal summary included).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gen_suite import write_project


def _run(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", *args], cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pc-bench-replay-"))
    suite = "test_bench.prompts.yaml"
    try:
        write_project(root, args.cases)
        _run(["--pc-record", suite], root)  # records the cassette, fills the cache and the parse cache
        _run(["plain"], root)
        runs: dict[str, list[float]] = {"promptcheck --pc-replay": [], "promptcheck, all from cache": [], "plain": []}
        for _ in range(args.repeats):
            runs["promptcheck --pc-replay"].append(_run(["--pc-replay", suite], root))
            runs["promptcheck, all from cache"].append(_run([suite], root))
            runs["plain"].append(_run(["plain"], root))
        base = statistics.median(runs["plain"])
        print(f"| full run, {args.cases:,} cases | median s | vs plain pytest |")
        print("|---|---|---|")
        for name, times in runs.items():
            median = statistics.median(times)
            print(f"| {name} | {median:.2f} | {median / base:.2f}x |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
