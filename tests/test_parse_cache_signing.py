"""The parse cache unpickles only entries signed with this user's key (a pickle runs code when loaded)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from conftest import PromptProject

SUITE = """
prompts:
  p: "{{ reply }}"
cases:
  - id: one
    vars: { reply: hello }
    assert: [ { contains: hello } ]
"""


class _Payload:
    """Unpickling this runs ``touch MARKER``: what a crafted entry committed under .pytest_cache would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def _entries(root: Path) -> list[Path]:
    return sorted(root.glob(".pytest_cache/d/promptcheck-suites/*.pickle"))


def test_a_forged_cache_entry_is_never_unpickled(
    pytester: pytest.Pytester, project: PromptProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Entries replaced by a payload (unsigned, or with a made-up signature) are misses: nothing runs."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    project.suite(body=SUITE)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    entries = _entries(pytester.path)
    assert entries and (tmp_path / "user-cache" / "pytest-promptcheck" / "parse-cache.key").is_file()
    marker = pytester.path / "pwned"
    payload = pickle.dumps(_Payload(marker))
    for forged in (payload, b"\0" * 32 + payload):
        for entry in entries:
            entry.write_bytes(forged)
        pytester.runpytest_subprocess().assert_outcomes(passed=1)
        assert not marker.exists(), "a forged parse-cache entry was unpickled"
    pickle.loads(payload)  # the payload is live: loading it does create the marker
    assert marker.exists()


def test_a_signed_entry_is_used(pytester: pytest.Pytester, project: PromptProject, monkeypatch: pytest.MonkeyPatch,
                                tmp_path: Path) -> None:  # fmt: skip
    """The second run reads the suite from its signed entry (the entry's file is not rewritten)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    project.suite(body=SUITE)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    (entry,) = _entries(pytester.path)
    written = entry.stat().st_mtime_ns
    os.utime(entry, ns=(written - 10**9, written - 10**9))
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    assert entry.stat().st_mtime_ns == written - 10**9  # a miss would have written it again
