"""The hostile corpus (tests/hostile/): every input ends in a clear error, never a traceback or a hang."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hostile import APP, PYPROJECT, Hostile, entries

CLASSES = entries()
ALL = [entry for group in CLASSES.values() for entry in group]
_LEAKS = ("Traceback (most recent call last)", "INTERNALERROR")


def test_every_class_has_three_distinct_inputs() -> None:
    """Each class of hostile input holds at least three entries, and names are unique."""
    thin = {name: len(group) for name, group in CLASSES.items() if len(group) < 3}
    assert not thin, f"classes with fewer than 3 inputs: {thin}"
    names = [e.name for e in ALL]
    assert len(names) == len(set(names)), "duplicate entry names"


def _write(root: Path, entry: Hostile) -> None:
    files: dict[str, str | bytes] = {"app.py": APP, "pyproject.toml": PYPROJECT, **entry.files}
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for command in entry.setup:
        subprocess.run(command, shell=True, cwd=root, check=True)


def _command(entry: Hostile) -> list[str]:
    if entry.command == "promptcheck":
        return [sys.executable, "-m", "pytest_promptcheck.cli", *entry.args]
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", *entry.args]


@pytest.mark.parametrize("entry", ALL, ids=[e.name for e in ALL])
def test_hostile_input(entry: Hostile, tmp_path: Path) -> None:
    """The input gives its error (status, message with file:line or key, fix) and nothing worse."""
    _write(tmp_path, entry)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PC_"))}
    try:
        done = subprocess.run(_command(entry), cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=entry.timeout, errors="replace")  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"{entry.name}: no result within {entry.timeout:.0f} s (a hang): {entry.note}")
    finally:
        subprocess.run(["chmod", "-R", "u+rwX", str(tmp_path)], check=False)
    output = done.stdout + done.stderr
    lines = output.splitlines()
    if entry.status is None:
        assert done.returncode != 0, f"{entry.name}: exit status 0\n{output}"
    else:
        assert done.returncode == entry.status, f"{entry.name}: exit status {done.returncode}\n{output}"
    missing = [p for p in entry.expect if not any(fnmatch.fnmatch(line, p) for line in lines)]
    assert not missing, f"{entry.name}: no line matches {missing}\n{output}"
    leaked = [leak for leak in _LEAKS if leak in output]
    assert not leaked, f"{entry.name}: {leaked} in the output\n{output}"
    made = [p for p in entry.forbidden if (tmp_path / p).exists()]
    assert not made, f"{entry.name}: created {made}: {entry.note}"
