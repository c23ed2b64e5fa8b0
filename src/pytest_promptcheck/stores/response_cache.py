"""The response cache: one SQLite file (WAL mode) that answers calls made before.

Key (:func:`..calls.keys.cache_key`): a sha256 over the provider, what is served, the model's options, the
params, the rendered messages, the seed, the sample index, and the model's *identity*
(:mod:`..providers.identity`): the content hash of a local checkpoint and adapter, the module:qualname
and source hash of a ``python`` function, a provider's own ``identity()`` (model id and base URL
for the API providers). So a new checkpoint at the same path never reuses an old output, while an
unchanged baseline's outputs are computed once and reused across runs.

The cache stores the redacted answer (the project's :class:`~..outputs.redact.Redactor` scrubs
every string written, through :class:`~..outputs.artifacts.ArtifactDB`); latency, usage and finish
reason keep their original values. A cache hit is judged on that text, which differs from a live
answer only where a secret was replaced.

A hit returns the original latency, usage, finish reason and tool calls, marked ``cached``. Errors are never
stored. Several pytest-xdist workers share the file: WAL lets readers run beside one writer,
writes are single short transactions, and a busy timeout waits out the others. A file that is not
a database, or stays locked, disables the cache for the rest of the run with one warning
(:attr:`ResponseCache.problem`); the run goes on uncached.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ..outputs.artifacts import ArtifactDB, cannot_write
from ..outputs.redact import Redactor
from ..providers import tool_calls
from ..providers.base import Completion, Usage

BUSY_TIMEOUT_S = 5.0  # how long a write waits for another process's transaction before giving up
# 2: the ``tool_calls`` column (JSON text, providers/tool_calls.dumps), added to version 1 files on open.
SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY, output TEXT NOT NULL, finish_reason TEXT, input_tokens INTEGER,
    output_tokens INTEGER, latency_ms REAL, served_model TEXT, created REAL NOT NULL, tool_calls TEXT);
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY, stat TEXT NOT NULL, digest TEXT NOT NULL);
"""


_COLUMNS = "key, output, finish_reason, input_tokens, output_tokens, latency_ms, served_model, created, tool_calls"
_PLACES = ", ".join("?" for _ in _COLUMNS.split(","))


def _migrate(db: ArtifactDB) -> None:
    """Bring a version 1 file up to date: its rows stay readable (no tool calls), new rows get them."""
    present = db.read("SELECT COUNT(*) FROM pragma_table_info('responses') WHERE name = 'tool_calls'", ())
    if present and present[0]:
        return
    try:
        db.setup("ALTER TABLE responses ADD COLUMN tool_calls TEXT")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc).lower():  # another xdist worker added it first
            raise


class CacheUnavailable(Exception):
    """The cache file cannot be used (corrupted, locked, unwritable)."""


class ResponseCache:
    """A thread-safe handle on the cache file (the engine reads and writes it from its loop thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None  # set once when the cache gives up; the plugin warns with it
        self._lock = threading.Lock()
        self._db: ArtifactDB | None = None

    @classmethod
    def open(cls, path: Path, redactor: Redactor | None = None) -> ResponseCache:
        """Open (creating) the file; raises :class:`CacheUnavailable` with the reason when it cannot.

        ``redactor`` scrubs what is stored (default: credential-named environment values and key shapes).
        """
        cache = cls(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = ArtifactDB(path, redactor or Redactor(), timeout=BUSY_TIMEOUT_S)
            try:
                # WAL stays consistent through a crash without an fsync per commit
                db.setup(_SCHEMA, "journal_mode=WAL", "synchronous=NORMAL")
                _migrate(db)
                db.setup("", f"user_version={SCHEMA_VERSION}")
            except sqlite3.Error:
                db.close()
                raise
        except (sqlite3.Error, OSError) as exc:
            raise CacheUnavailable(_explain(path, exc)) from exc
        cache._db = db
        return cache

    def get(self, key: str) -> Completion | None:
        row = self._run(
            lambda db: db.read(
                "SELECT output, finish_reason, input_tokens, output_tokens, latency_ms, served_model, tool_calls "
                "FROM responses WHERE key = ?", (key,),
            )
        )  # fmt: skip
        if row is None:
            return None
        output, finish, tokens_in, tokens_out, latency, served, calls = row
        return Completion(
            output,
            finish,
            Usage(tokens_in, tokens_out),
            latency,
            served,
            cached=True,
            tool_calls=tool_calls.loads(calls),
        )

    def put(self, key: str, completion: Completion) -> None:
        values = (
            key, completion.output, completion.finish_reason, completion.usage.input_tokens,
            completion.usage.output_tokens, completion.latency_ms, completion.served_model, time.time(),
            tool_calls.dumps(completion.tool_calls),
        )  # fmt: skip
        self._run(lambda db: db.write(f"INSERT OR REPLACE INTO responses ({_COLUMNS}) VALUES ({_PLACES})", values))

    def file_digest(self, path: Path, stat: str) -> str | None:
        """A stored content hash of ``path``, valid while its stat line (size, times, inode) is unchanged."""
        row = self._run(lambda db: db.read("SELECT stat, digest FROM file_hashes WHERE path = ?", (str(path),)))
        return row[1] if row is not None and row[0] == stat else None

    def store_file_digest(self, path: Path, stat: str, digest: str) -> None:
        self._run(lambda db: db.write("INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?)", (str(path), stat, digest)))

    def _run(self, operation: Any) -> Any:
        """One statement in its own short (autocommit) transaction; on failure the cache turns itself off."""
        with self._lock:
            if self._db is None:
                return None
            try:
                return operation(self._db)
            except sqlite3.Error as exc:
                self.problem = _explain(self.path, exc)
                self._close()
                return None

    def _close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):  # closing a broken handle
                self._db.close()
            self._db = None

    def close(self) -> None:
        with self._lock:
            self._close()


# What SQLite says when the disk, not the file, is the problem: read-only, full, over a size limit.
_DISK_FAULTS = ("readonly", "read-only", "disk i/o", "disk is full", "unable to open", "file is too large")


def _explain(path: Path, exc: BaseException) -> str:
    if isinstance(exc, OSError) or any(fault in str(exc).lower() for fault in _DISK_FAULTS):
        return cannot_write("response cache", path, exc, Path.cwd())
    return (
        f"response cache {path} cannot be used ({exc}); the run goes on without the cache. "
        'Delete the file to start a new cache, or set cache = "off" in [tool.promptcheck]'
    )


def cache_path(root: Path, setting: str | None) -> Path | None:
    """Where the cache lives (relative settings are relative to the config file), or None when off."""
    if setting is None or str(setting).lower() == "off":
        return None
    path = Path(os.path.expanduser(setting))
    return path if path.is_absolute() else root / path


__all__ = ["CacheUnavailable", "ResponseCache", "cache_path"]
