"""A parse cache for suites, keyed by content: loading a 10,000-case YAML file takes seconds.

Entries live in pytest's cache directory (``.pytest_cache/d/promptcheck-suites/``) and hold the
loaded suite plus the hashes of every file it referenced; an entry is used only when the suite
file and all those files are byte-identical, so an edit anywhere is always picked up.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import pickle
from pathlib import Path
from typing import Any, BinaryIO

from ..outputs.artifacts import write_internal_bytes
from .limits import SuitePolicy
from .model import LoadedSuite

_FORMAT = "3"  # bump when LoadedSuite / Suite change shape


def _entry_key(path: Path, data: bytes, version: str, policy: SuitePolicy) -> str:
    digest = hashlib.sha256(f"{_FORMAT}:{version}:{path}:{policy.key()}".encode())
    digest.update(data)
    return digest.hexdigest()[:32]


def _deps_unchanged(deps: dict[str, str]) -> bool:
    for name, sha in deps.items():
        try:
            if hashlib.sha256(Path(name).read_bytes()).hexdigest() != sha:
                return False
        except OSError:
            return False
    return True


def _load(path: Path, policy: SuitePolicy) -> LoadedSuite:
    from .load import load_suite  # lazily: PyYAML, Jinja2 and jsonschema are only needed on a miss

    return load_suite(path, policy)


def _unpickle(fh: BinaryIO) -> Any:
    """``pickle.load`` with the cyclic collector paused.

    Unpickling a 10,000-case suite allocates ~1M objects, and every 700 allocations the collector
    would walk the young ones again: pausing it makes the load ~2x faster. Nothing unpickled is
    garbage, so there is nothing to miss.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.load(fh)
    finally:
        if enabled:
            gc.enable()


def load_suite_cached(path: Path, cache_dir: Path | None, version: str, policy: SuitePolicy) -> LoadedSuite:
    """``load_suite`` with a content-addressed cache in ``cache_dir`` (None: no cache)."""
    if cache_dir is None:
        return _load(path, policy)
    try:
        data = path.read_bytes()
    except OSError:
        return _load(path, policy)  # reports the read error with file name
    entry = cache_dir / f"{_entry_key(path, data, version, policy)}.pickle"
    try:
        with entry.open("rb") as fh:
            deps, loaded = _unpickle(fh)
        if _deps_unchanged(deps):
            return loaded  # type: ignore[no-any-return]
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
        pass  # missing or stale entry: load afresh
    loaded = _load(path, policy)
    deps = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in loaded.suite.dependencies if p.is_file()}
    # Not scrubbed (outputs/artifacts.py says why: the suite's own text, parsed, no model output);
    # atomic: concurrent xdist workers never read half an entry. A read-only cache dir only costs speed.
    with contextlib.suppress(OSError):
        write_internal_bytes(entry, pickle.dumps((deps, loaded), protocol=pickle.HIGHEST_PROTOCOL))
    return loaded
