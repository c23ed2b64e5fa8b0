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
import tempfile
from pathlib import Path

from gen_suite import time_pytest, write_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pc-bench-replay-"))
    suite = "test_bench.prompts.yaml"
    try:
        write_project(root, args.cases)
        time_pytest(["-q", "--pc-record", suite], root)  # records the cassette, fills the cache and the parse cache
        time_pytest(["-q", "plain"], root)
        runs: dict[str, list[float]] = {"promptcheck --pc-replay": [], "promptcheck, all from cache": [], "plain": []}
        for _ in range(args.repeats):
            runs["promptcheck --pc-replay"].append(time_pytest(["-q", "--pc-replay", suite], root))
            runs["promptcheck, all from cache"].append(time_pytest(["-q", suite], root))
            runs["plain"].append(time_pytest(["-q", "plain"], root))
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
