"""A store that cannot be written costs one warning line, never the run: verdicts and exit status stay right.

Faults are made in ways that work as root too (chmod does not stop root): ``.promptcheck`` as a
regular file, paths linked to ``/dev/full`` (ENOSPC), ``RLIMIT_FSIZE`` in the child (EFBIG), a
read-only or full tmpfs where mounting is allowed, and chmod when not root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import PromptProject
from hostile.disk_faults import SUITE  # one passing and one failing case: verdicts must survive the fault

WARNING = "*promptcheck: cannot write the {store} {path} ({reason}); the run goes on without it*"


def _check(result: pytest.RunResult, *stores: tuple[str, str, str]) -> None:
    """Right verdicts and status, one warning per store, no INTERNALERROR."""
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and "Traceback" not in output
    result.stdout.fnmatch_lines([WARNING.format(store=s, path=p, reason=r) for s, p, r in stores], consecutive=False)


def test_promptcheck_folder_is_a_file(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A file named .promptcheck: no run record, cache or export (read from the record), a line for each."""
    project.suite(body=SUITE)
    (pytester.path / ".promptcheck").write_text("not a folder\n", encoding="utf-8")
    _check(
        pytester.runpytest("--pc-export=export.jsonl"),
        ("response cache", ".promptcheck/cache.db", "*: .promptcheck is not a folder"),
        ("run record", ".promptcheck/runs/*", "Not a directory*.promptcheck is not a folder"),
        ("export", "export.jsonl", "its run record could not be written"),
    )


def test_reports_export_and_cassettes_on_a_full_disk(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Reports and the export linked to /dev/full (ENOSPC), cassettes blocked by a file: a warning each."""
    project.suite(body=SUITE)
    for name in ("r.json", "r.html", "export.jsonl"):
        (pytester.path / name).symlink_to("/dev/full")
    (pytester.path / "cassettes").write_text("", encoding="utf-8")
    result = pytester.runpytest(
        "--pc-report=json:r.json", "--pc-report=html:r.html", "--pc-report=md:r.md", "--pc-export=export.jsonl",
        "--pc-record",
    )  # fmt: skip
    _check(
        result,
        ("json report", "r.json", "No space left on device"),
        ("html report", "r.html", "No space left on device"),
        ("cassette", "cassettes/test_suite.cassette.jsonl", "*cassettes is not a folder"),
        ("export", "export.jsonl", "No space left on device"),
    )
    assert (pytester.path / "r.md").is_file()  # the one report that could be written was


def test_file_size_limit(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Under RLIMIT_FSIZE (EFBIG: Python ignores SIGXFSZ) the cache and run record give up, the run goes on."""
    project.suite(body=SUITE)
    pytester.makeconftest("import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n")
    # Pipes, not pytester's capture files: the limit would cut those short too.
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"]
    done = subprocess.run(command, cwd=pytester.path, capture_output=True, text=True, timeout=120)
    result = pytest.RunResult(done.returncode, done.stdout.splitlines(), done.stderr.splitlines(), 0.0)
    _check(result, ("response cache", ".promptcheck/cache.db", "*"), ("run record", ".promptcheck/runs/*", "*"))
    result.stdout.fnmatch_lines(["*cannot write the run record*(File too large)*"])


@pytest.fixture
def tmpfs(pytester: pytest.Pytester, request: pytest.FixtureRequest) -> Iterator[Path]:
    """``.promptcheck`` as a 64 KiB tmpfs, read-only or filled up (skipped where mounting is not allowed)."""
    folder = pytester.path / ".promptcheck"
    folder.mkdir()
    options = "ro,size=64k" if request.param == "ro" else "size=64k"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        if request.param == "full":
            subprocess.run(["dd", "if=/dev/zero", f"of={folder / 'fill'}", "bs=4k"], capture_output=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.parametrize(
    "tmpfs, reason", [("ro", "Read-only file system"), ("full", "No space left on device")], indirect=["tmpfs"]
)
def test_read_only_or_full_filesystem(
    pytester: pytest.Pytester, project: PromptProject, tmpfs: Path, reason: str
) -> None:
    """A read-only or full filesystem under .promptcheck: the cache and run record warn, verdicts stand."""
    project.suite(body=SUITE)
    result = pytester.runpytest()
    _check(result, ("response cache", ".promptcheck/cache.db", "*"), ("run record", ".promptcheck/runs/*", reason))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes through chmod 0o500")
def test_read_only_folder_as_a_user(pytester: pytest.Pytester, project: PromptProject) -> None:
    """chmod 0o500 on .promptcheck (effective for a non-root user): warnings, the run goes on."""
    project.suite(body=SUITE)
    folder = pytester.path / ".promptcheck"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        _check(
            pytester.runpytest(),
            ("response cache", ".promptcheck/cache.db", "*"),
            ("run record", ".promptcheck/runs/*", "Permission denied"),
        )
    finally:
        folder.chmod(0o700)


def test_snapshots_cannot_be_written(pytester: pytest.Pytester, project: PromptProject) -> None:
    """--pc-update with __snapshots__ blocked by a file: one warning, and no "written" claim."""
    project.suite(
        body="prompts: {p: '{{ reply }}'}\ncases:\n  - id: one\n    vars: {reply: hi}\n    assert: [snapshot]\n"
    )
    (pytester.path / "__snapshots__").write_text("", encoding="utf-8")
    result = pytester.runpytest("--pc-update")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([WARNING.format(store="snapshot file", path="__snapshots__/test_suite.snap.yaml",
                                                reason="*__snapshots__ is not a folder")])  # fmt: skip
    result.stdout.no_fnmatch_line("*snapshots written*")
    assert "INTERNALERROR" not in result.stdout.str()
