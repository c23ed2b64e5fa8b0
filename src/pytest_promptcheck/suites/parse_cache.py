"""A parse cache for suites, keyed by content: loading a 10,000-case YAML file takes seconds.

Entries live in pytest's cache directory (``.pytest_cache/d/promptcheck-suites/``) and hold the
loaded suite plus the hashes of every file it referenced; an entry is used only when the suite
file and all those files are byte-identical, so an edit anywhere is always picked up.

Entries are pickles, and unpickling runs code: a pull request could commit a crafted entry under
``.pytest_cache`` at the name a checkout predicts (``git add -f``). So each entry is signed with
HMAC-SHA256 under a key that lives outside the project, in the user's cache folder
(``$XDG_CACHE_HOME/pytest-promptcheck/parse-cache.key``, made once, mode 0600), and an entry whose
signature does not check is never unpickled: it is a miss. Where no key can be kept (a read-only
home), each process makes its own and the cache only helps within that process.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import hmac
import os
import pickle
import secrets
from pathlib import Path
from typing import Any

from ..outputs.artifacts import write_internal_bytes
from .limits import SuitePolicy
from .model import LoadedSuite

_FORMAT = "4"  # bump when LoadedSuite / Suite change shape (4: entries are signed)
_MAC_BYTES = 32  # HMAC-SHA256 before the pickle


@functools.lru_cache(maxsize=1)
def _signing_key() -> bytes:
    """This user's key for parse-cache entries, kept outside every project (see the module docstring)."""
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key_file = Path(home) / "pytest-promptcheck" / "parse-cache.key"
    with contextlib.suppress(OSError):
        stored = key_file.read_bytes()
        if len(stored) >= _MAC_BYTES:
            return stored
    key = secrets.token_bytes(_MAC_BYTES)
    try:
        write_internal_bytes(key_file, key)
        os.chmod(key_file, 0o600)
        return key_file.read_bytes()  # another process may have won the race: use what is stored
    except OSError:
        return key  # no place to keep it: this process's own


def _signed(body: bytes) -> bytes:
    return hmac.new(_signing_key(), body, hashlib.sha256).digest() + body


def _verified(entry: bytes) -> bytes | None:
    """The pickle of a signed entry, or None when the signature does not check (never unpickled)."""
    mac, body = entry[:_MAC_BYTES], entry[_MAC_BYTES:]
    expected = hmac.new(_signing_key(), body, hashlib.sha256).digest()
    return body if len(mac) == _MAC_BYTES and hmac.compare_digest(mac, expected) else None


def _entry_key(path: Path, data: bytes, version: str, policy: SuitePolicy) -> str:
    digest = hashlib.sha256(f"{_FORMAT}:{version}:{path}:{policy.key()}".encode())
    digest.update(data)
    return digest.hexdigest()[:32]


def _deps_unchanged(deps: dict[str, str], policy: SuitePolicy) -> bool:
    return _dep_hashes(tuple(map(Path, deps)), policy) == deps


def _dep_hashes(paths: tuple[Path, ...], policy: SuitePolicy) -> dict[str, str]:
    """sha256 of each file, read by the suite's file rules: one swapped for a symlink to /dev/zero
    since an entry was written is refused (and the load afresh reports it), never read forever."""
    from .files import SuiteFileError, read_suite_file

    hashes = {}
    for path in paths:
        try:
            hashes[str(path)] = hashlib.sha256(read_suite_file(path, policy, what="file", ref=str(path))).hexdigest()
        except SuiteFileError:
            hashes[str(path)] = ""  # gone or changed since the load: the entry will not match
    return hashes


def _load(path: Path, policy: SuitePolicy) -> LoadedSuite:
    from .load import load_suite  # lazily: PyYAML, Jinja2 and jsonschema are only needed on a miss

    return load_suite(path, policy)


def _unpickle(body: bytes) -> Any:
    """``pickle.load`` with the cyclic collector paused.

    Unpickling a 10,000-case suite allocates ~1M objects, and every 700 allocations the collector
    would walk the young ones again: pausing it makes the load ~2x faster. Nothing unpickled is
    garbage, so there is nothing to miss.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(body)
    finally:
        if enabled:
            gc.enable()


def load_suite_cached(path: Path, cache_dir: Path | None, version: str, policy: SuitePolicy) -> LoadedSuite:
    """``load_suite`` with a content-addressed cache in ``cache_dir`` (None: no cache)."""
    if cache_dir is None:
        return _load(path, policy)
    from .files import SuiteFileError, read_suite_file

    try:
        data = read_suite_file(path, policy, what="suite", ref=path.name, key="suite_bytes", anywhere=True)
    except SuiteFileError:
        return _load(path, policy)  # reports the read error with file name
    entry = cache_dir / f"{_entry_key(path, data, version, policy)}.pickle"
    try:
        body = _verified(entry.read_bytes())
        if body is not None:  # an entry this user's key did not sign is never unpickled
            deps, loaded = _unpickle(body)
            if _deps_unchanged(deps, policy):
                return loaded  # type: ignore[no-any-return]
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
        pass  # missing or stale entry: load afresh
    loaded = _load(path, policy)
    deps = _dep_hashes(loaded.suite.dependencies, policy)
    # Not scrubbed (outputs/artifacts.py says why: the suite's own text, parsed, no model output);
    # atomic: concurrent xdist workers never read half an entry. A read-only cache dir only costs speed.
    with contextlib.suppress(OSError):
        write_internal_bytes(entry, _signed(pickle.dumps((deps, loaded), protocol=pickle.HIGHEST_PROTOCOL)))
    return loaded
