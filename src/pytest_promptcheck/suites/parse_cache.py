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
    from .files import SuiteFileError, read_suite_file

    try:
        data = read_suite_file(path, policy, what="suite", ref=path.name, key="suite_bytes", anywhere=True)
    except SuiteFileError:
        return _load(path, policy)  # reports the read error with file name
    entry = cache_dir / f"{_entry_key(path, data, version, policy)}.pickle"
    try:
        with entry.open("rb") as fh:
            deps, loaded = _unpickle(fh)
        if _deps_unchanged(deps, policy):
            return loaded  # type: ignore[no-any-return]
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
        pass  # missing or stale entry: load afresh
    loaded = _load(path, policy)
    deps = _dep_hashes(loaded.suite.dependencies, policy)
    # Not scrubbed (outputs/artifacts.py says why: the suite's own text, parsed, no model output);
    # atomic: concurrent xdist workers never read half an entry. A read-only cache dir only costs speed.
    with contextlib.suppress(OSError):
        write_internal_bytes(entry, pickle.dumps((deps, loaded), protocol=pickle.HIGHEST_PROTOCOL))
    return loaded
