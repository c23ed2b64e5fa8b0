"""Write a large suite for benchmarks: N cases, one prompt variant, a `python` echo model.

python benchmarks/gen_suite.py OUT_DIR --cases 10000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

PYPROJECT = """\
[tool.pytest.ini_options]

[tool.promptcheck]
models = ["echo"]

[tool.promptcheck.model.echo]
provider = "python"
function = "bench_app:echo"
"""

APP = """\
def echo(messages, params):
    return messages[-1]["content"]
"""


def write_project(out: Path, cases: int) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "pyproject.toml").write_text(PYPROJECT)
    (out / "bench_app.py").write_text(APP)
    lines = [
        "description: generated benchmark suite",
        "prompts:",
        '  p: "Ticket: {{ ticket }}"',
        "defaults:",
        "  tags: [bench]",
        "cases:",
    ]
    for i in range(cases):
        lines += [
            f"  - id: case-{i}",
            f"    vars: {{ ticket: 'ticket number {i}: the app is broken' }}",
            "    assert:",
            "      - contains: broken",
            "      - regex: 'ticket number \\d+'",
        ]
    suite = out / "test_bench.prompts.yaml"
    suite.write_text("\n".join(lines) + "\n")
    plain = out / "plain" / "test_plain.py"
    plain.parent.mkdir(exist_ok=True)
    plain.write_text(
        "import pytest\n\n\n"
        f"@pytest.mark.parametrize('i', range({cases}))\n"
        "def test_case(i):\n    assert 'broken' in f'ticket number {i}: the app is broken'\n"
    )
    return suite


def child_env() -> dict[str, str]:
    """The environment for measured child processes: this one, with bytecode caching on.

    Some sandboxes and CI images export PYTHONDONTWRITEBYTECODE=1. Then every fresh process
    compiles the plugin's ~90 modules (and pytest rewrites their asserts) from source again:
    0.3-0.4 s per run here, which no user with a normal Python setup pays. Both sides of every
    comparison run with this same environment.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def time_pytest(args: list[str], cwd: Path) -> float:
    """Wall seconds of one fresh `python -m pytest ARGS` in ``cwd``; exits loudly when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=cwd, capture_output=True, text=True, env=child_env()
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    print(write_project(args.out, args.cases))


if __name__ == "__main__":
    main()
