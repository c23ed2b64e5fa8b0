"""Time `pytest --collect-only -q` on a generated N-case suite, cold and warm, beside plain pytest.

    python benchmarks/bench_collect.py --cases 10000 --repeats 3

cold: no parse cache (first run after a change to the suite); warm: the content-addressed parse
cache in .pytest_cache is filled. "plain" is `pytest --collect-only -q` over one parametrized test
function with N parameters: pytest's own floor for N items on this machine. Each figure is the
median wall time of a fresh `python -m pytest` process (startup included).
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
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pc-bench-"))
    try:
        write_project(root, args.cases)
        cold, warm, plain = [], [], []
        for _ in range(args.repeats):
            shutil.rmtree(root / ".pytest_cache", ignore_errors=True)
            cold.append(time_pytest(["--collect-only", "-q", "test_bench.prompts.yaml"], root))
            warm.append(time_pytest(["--collect-only", "-q", "test_bench.prompts.yaml"], root))
            plain.append(time_pytest(["--collect-only", "-q", "-p", "no:cacheprovider", "plain"], root))
        rows = {"promptcheck cold": cold, "promptcheck warm": warm, "plain pytest": plain}
        base = statistics.median(plain)
        print(f"| collect-only, {args.cases:,} cases | median s | vs plain pytest |")
        print("|---|---|---|")
        for name, times in rows.items():
            median = statistics.median(times)
            print(f"| {name} | {median:.2f} | {median / base:.2f}x |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
