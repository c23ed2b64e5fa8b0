"""Stores that cannot be written: one warning line each, the run goes on with the right verdicts.

Faults that work as root too: a file where a folder goes, paths linked to ``/dev/full`` (ENOSPC),
``RLIMIT_FSIZE`` set in the child's conftest (EFBIG). Each suite has one case that fails as it
should, so the exit status is 1 (not 0, not an internal error's 3).
"""

from __future__ import annotations

from . import Hostile

SUITE = """
prompts:
  p: "{{ reply }}"
cases:
  - id: good
    vars: { reply: hello }
    assert: [ { contains: hello } ]
  - id: bad
    vars: { reply: goodbye }
    ideal: hello
    assert: [ { contains: hello } ]
"""
FILES: dict[str, str | bytes] = {"test_faults.prompts.yaml": SUITE}
TALLY = "*1 failed, 1 passed*"


def _warning(store: str, path: str, reason: str = "*") -> str:
    return f"*promptcheck: cannot write the {store} {path} ({reason}); the run goes on without it*"


ENTRIES: list[Hostile] = [
    Hostile(
        name="promptcheck-folder-is-a-file",
        files={**FILES, ".promptcheck": "a file where the run records and cache would go\n"},
        expect=(
            TALLY,
            _warning("response cache", ".promptcheck/cache.db", "*.promptcheck is not a folder"),
            _warning("run record", ".promptcheck/runs/*", "*.promptcheck is not a folder"),
        ),
        status=1,
        note="mkdir under a regular file fails with ENOTDIR; it used to be an INTERNALERROR after one item",
    ),
    Hostile(
        name="reports-on-a-full-disk",
        files=FILES,
        setup=("ln -s /dev/full report.json", "ln -s /dev/full report.html"),
        args=("--pc-report", "json:report.json", "--pc-report", "html:report.html", "--pc-report", "md:report.md"),
        expect=(
            TALLY,
            _warning("json report", "report.json", "No space left on device"),
            _warning("html report", "report.html", "No space left on device"),
        ),
        status=1,
        note="report files linked to /dev/full: every write fails with ENOSPC",
    ),
    Hostile(
        name="export-and-cassettes-blocked",
        files={**FILES, "cassettes": "a file where the cassettes folder goes\n"},
        setup=("ln -s /dev/full export.jsonl",),
        args=("--pc-export", "export.jsonl", "--pc-record"),
        expect=(
            TALLY,
            _warning("export", "export.jsonl", "No space left on device"),
            _warning("cassette", "cassettes/test_faults.cassette.jsonl", "*cassettes is not a folder"),
        ),
        status=1,
        note="the export hits ENOSPC and the cassettes' folder is a file",
    ),
    Hostile(
        name="file-size-limit",
        files={**FILES, "conftest.py": "import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"},
        expect=(
            TALLY,
            _warning("response cache", ".promptcheck/cache.db"),
            _warning("run record", ".promptcheck/runs/*", "File too large"),
        ),
        status=1,
        note="RLIMIT_FSIZE of 1000 bytes: SQLite's first page and the run record fail with EFBIG",
    ),
]
