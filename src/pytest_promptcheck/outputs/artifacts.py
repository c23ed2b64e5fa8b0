"""The one way out to disk: every file the plugin writes goes through here, scrubbed on the way.

Run records and manifests, cassettes, snapshots, ``--pc-report`` files, exports, the CLI's
reports and the response cache all leave through these functions, and each takes the project's
:class:`.redact.Redactor`: a writer cannot forget to scrub, because there is no other writer
(``tests/test_architecture.py`` fails when a module outside this one opens a file for writing,
replaces one, or connects to SQLite).

Two kinds of file are written here *without* scrubbing, each by its own function so the choice is
visible at the call site: a suite the user owns (``promptcheck add`` edits it; scrubbing would
rewrite their text) and the parse cache's pickles (the suite's own text, parsed; no model output
or request ever goes in, and scrubbing would corrupt the pickle).

A store that cannot be written (a read-only or full disk, a file where a folder should be) is not
fatal: :func:`cannot_write` is the one warning line each store gives before the run goes on
without it, as pytest's cacheprovider does.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..runs.record import ItemRecord
from .redact import Redactor


class StoreWarning(UserWarning):
    """A store (run record, cache, cassettes, snapshots, a report, an export) could not be written."""


def cannot_write(store: str, path: Path, exc: BaseException, cwd: Path | None = None) -> str:
    """``promptcheck: cannot write the response cache .promptcheck/cache.db (Read-only file system); ...``."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
    blocker = _in_the_way(path)
    if blocker is not None:  # mkdir's own words (ENOTDIR, EEXIST) do not say which path is the problem
        reason += f": {_shown(blocker, cwd)} is not a folder"
    return f"promptcheck: cannot write the {store} {_shown(path, cwd)} ({reason}); the run goes on without it"


def _in_the_way(path: Path) -> Path | None:
    """The nearest existing parent of ``path`` when it is not a folder (a file, a device)."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            return None if parent.is_dir() else parent
    return None


def _shown(path: Path, cwd: Path | None) -> str:
    if cwd is not None:
        try:
            return path.relative_to(cwd).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def warn_cannot_write(store: str, path: Path, exc: BaseException, cwd: Path | None = None) -> None:
    warnings.warn(StoreWarning(cannot_write(store, path, exc, cwd)), stacklevel=3)


# -- scrubbed files ----------------------------------------------------------------------------------


def write_text_artifact(path: Path, text: str, redactor: Redactor, *, atomic: bool = False) -> Path:
    """Write ``text``, scrubbed, to ``path`` (creating folders); ``atomic``: through a temporary file.

    Not atomic, a symlinked path is written through (a report linked elsewhere stays linked);
    atomic, readers never see half a file (manifests, cassettes, snapshots). Raises OSError.
    """
    _write(path, redactor.text(text).encode("utf-8"), atomic=atomic)
    return path


def write_json_artifact(path: Path, data: Any, redactor: Redactor, *, atomic: bool = False, sort_keys: bool = False,
                        ensure_ascii: bool = True) -> Path:  # fmt: skip
    """``data`` as indented JSON; its strings are scrubbed *before* encoding, so escapes hide nothing."""
    text = json.dumps(redactor.data(data), indent=2, sort_keys=sort_keys, ensure_ascii=ensure_ascii, default=str)
    _write(path, (text + "\n").encode("utf-8"), atomic=atomic)
    return path


def json_line(value: Any, redactor: Redactor, *, sort_keys: bool = False) -> str:
    """``value`` as one scrubbed JSON line (the text checked once; the data walked only when needed)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, default=str)
    if redactor.json_exact and not redactor.needed(text):
        return text
    return json.dumps(redactor.data(value), ensure_ascii=False, sort_keys=sort_keys, default=str)


def write_lines_artifact(path: Path, rows: Iterable[Any], redactor: Redactor, *, atomic: bool = False,
                         sort_keys: bool = False) -> Path:  # fmt: skip
    """A JSON lines file of ``rows``, each scrubbed (exports, cassettes)."""
    text = "".join(json_line(row, redactor, sort_keys=sort_keys) + "\n" for row in rows)
    _write(path, text.encode("utf-8"), atomic=atomic)
    return path


class ScrubbedRecords(list[ItemRecord]):
    """Records :func:`scrub_records` already scrubbed with ``redactor``: scrubbing them again is skipped."""

    def __init__(self, records: Iterable[ItemRecord], redactor: Redactor) -> None:
        super().__init__(records)
        self.redactor = redactor


def scrub_records(records: Iterable[ItemRecord], redactor: Redactor) -> ScrubbedRecords:
    """Records with every string scrubbed, for a page that escapes or clips text before writing it.

    HTML and Markdown escape ``<``, ``&`` and quotes and cut long outputs: a secret scrubbed only in
    the finished page could survive encoded, or cut in half. A record with nothing to scrub is kept;
    a string met again (prompts and names repeat across models and variants) is scrubbed once.
    """
    if isinstance(records, ScrubbedRecords) and records.redactor is redactor:
        return records  # the summary's records, handed on to the reports
    memo: dict[str, str] = {}

    def text(value: str) -> str:
        found = memo.get(value)
        if found is None:
            found = memo[value] = redactor.text(value)
        return found

    scrubbed = []
    for record in records:
        data = record.to_json()
        if redactor.json_exact and not redactor.needed(json.dumps(data, ensure_ascii=False, default=str)):
            scrubbed.append(record)
        else:
            scrubbed.append(ItemRecord.from_json(_walk(data, text)))
    return ScrubbedRecords(scrubbed, redactor)


def _walk(value: Any, text: Callable[[str], str]) -> Any:
    """:meth:`.Redactor.data` with a given ``text`` function (keys scrubbed too)."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {text(k) if isinstance(k, str) else k: _walk(v, text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v, text) for v in value]
    return value


class AppendFile:
    """A JSON lines file appended one scrubbed line per write, so a killed run leaves whole lines only."""

    def __init__(self, path: Path, redactor: Redactor) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.redactor = redactor
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, value: Any) -> None:
        """``value`` as one JSON line, in a single write; raises OSError (ENOSPC, EFBIG)."""
        if self._fd is None:
            return
        view = memoryview((json_line(value, self.redactor) + "\n").encode("utf-8"))
        while view:
            view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


class ArtifactDB:
    """A SQLite file whose writes are scrubbed: every string parameter of :meth:`write` goes through the redactor."""

    def __init__(self, path: Path, redactor: Redactor, *, timeout: float) -> None:
        self.redactor = redactor
        self._db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)

    def setup(self, script: str, *pragmas: str) -> None:
        for pragma in pragmas:
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(script)

    def read(self, sql: str, params: tuple[Any, ...]) -> Any:
        return self._db.execute(sql, params).fetchone()

    def write(self, sql: str, params: tuple[Any, ...]) -> None:
        self._db.execute(sql, tuple(self.redactor.text(p) if isinstance(p, str) else p for p in params))

    def close(self) -> None:
        self._db.close()


# -- files written as they are -------------------------------------------------------------------


def write_owned_text(path: Path, text: str) -> None:
    """A file the user owns (a suite ``promptcheck add`` edits), unscrubbed: it is their text, not model output."""
    _write(path, text.encode("utf-8"), atomic=False)


def move_file(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target`` (same folder: atomic)."""
    os.replace(source, target)


def remove_file(path: Path) -> None:
    """Remove a file the plugin wrote (a collected batch's state); gone already is fine."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def write_internal_bytes(path: Path, data: bytes) -> None:
    """An internal cache entry (the parse cache's pickle of a suite's own text), atomically and unscrubbed.

    It holds no model output and no request, only what the suite file already says; scrubbing
    bytes of a pickle would corrupt it.
    """
    _write(path, data, atomic=True)


def _write(path: Path, data: bytes, *, atomic: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not atomic:
        with path.open("wb") as handle:
            handle.write(data)
        return
    # a name of our own (not mkstemp's 0600 file): the result keeps the usual permissions
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(3)}.tmp")
    try:
        with tmp.open("xb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


__all__ = [
    "AppendFile", "ArtifactDB", "ScrubbedRecords", "StoreWarning", "cannot_write", "json_line", "move_file",
    "remove_file", "scrub_records", "warn_cannot_write", "write_internal_bytes", "write_json_artifact", "write_lines_artifact",
    "write_owned_text", "write_text_artifact",
]  # fmt: skip
