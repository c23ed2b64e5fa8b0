"""Reading a file a suite names: the one door every suite file read goes through.

A suite is untrusted input, and a path in it (``file()``, ``prompts_from``, ``cases_from``,
``json_schema``) is the suite's word, not the user's. So a read is allowed only when the path,
symlinks resolved, lies under one of the policy's roots; it is a regular file (a device such as
``/dev/zero`` or a FIFO would never end, or never start); and it fits ``limits.file_bytes``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .limits import SuitePolicy

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # POSIX; Windows has no FIFOs to block on


class SuiteFileError(Exception):
    """A file a suite names may not or cannot be read; the message says why and what to do."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing  # there is no such file (callers may word that their own way)


def read_suite_file(
    path: Path, policy: SuitePolicy, *, what: str, ref: str, key: str = "file_bytes", anywhere: bool = False
) -> bytes:
    """The bytes of ``path`` (``ref`` as the suite wrote it, ``what`` names the reference, e.g. ``file()``).

    Raises :class:`SuiteFileError` when the resolved path lies outside ``policy.roots`` (unless
    ``anywhere``: the suite file itself, which the user named), is not a regular file, or holds more
    than the limit ``key`` of ``policy.limits`` allows.
    """
    resolved = path.resolve()
    what = f"{what[:-2]}({ref!r})" if what.endswith("()") else f"{what} {ref!r}"
    if not anywhere and not policy.allows(resolved):
        roots = ", ".join(map(str, policy.roots))
        raise SuiteFileError(
            f"{what} lies outside the project ({roots}; it resolves to {resolved}); "
            "list extra folders in [tool.promptcheck] allow_paths"
        )
    cap: int = getattr(policy.limits, key)
    try:
        _check_regular(os.stat(resolved), what, resolved, cap, key)  # opening a device may act
        # A FIFO swapped in after that check cannot block the open (O_NONBLOCK), nor a symlink redirect it.
        fd = os.open(resolved, os.O_RDONLY | _NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SuiteFileError(
            f"{what} cannot be read ({exc.strerror}; looked for {resolved}); paths are relative to the suite file",
            missing=isinstance(exc, FileNotFoundError),
        ) from None
    try:
        _check_regular(os.fstat(fd), what, resolved, cap, key)  # what was opened: no swap since
        if _NONBLOCK:
            os.set_blocking(fd, True)  # a regular file: read it plainly
        data = _read_at_most(fd, cap + 1)  # the file may grow after fstat: never read past the cap
    finally:
        os.close(fd)
    if len(data) > cap:
        raise SuiteFileError(_too_big(what, len(data), cap, key))
    return data


def _check_regular(info: os.stat_result, what: str, resolved: Path, cap: int, key: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise SuiteFileError(f"{what} is {_kind(info.st_mode)}, not a regular file ({resolved}); name a text file")
    if info.st_size > cap:
        raise SuiteFileError(_too_big(what, info.st_size, cap, key))


def _read_at_most(fd: int, count: int) -> bytes:
    chunks = []
    while count > 0:
        chunk = os.read(fd, min(count, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _too_big(what: str, size: int, cap: int, key: str) -> str:
    return (
        f"{what} holds {size} bytes or more, over limits.{key} = {cap}; "
        f"raise it under [tool.promptcheck.limits] if the file is meant to be this big"
    )


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"
