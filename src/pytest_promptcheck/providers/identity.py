"""What a model serves, as an identity string: content hashes of local weights, a function's source.

Used by the response cache's keys (a new checkpoint at the same path never reuses an old output)
and by the run manifest (which checkpoint answered). Hashing a multi-gigabyte checkpoint takes
seconds, so per-file digests are memoised in the response cache when one is open.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config_models import ModelConfig

if TYPE_CHECKING:
    from ..stores.response_cache import ResponseCache


def local_folders(model: ModelConfig) -> list[Path]:
    """The checkpoint and adapter folders (or files) of ``model`` that exist on this machine."""
    found = []
    for raw in (model.path, model.adapter):
        if raw and "${" not in raw and Path(raw).exists():
            found.append(Path(raw))
    return found


def content_hash(paths: Iterable[Path], cache: ResponseCache | None = None) -> str:
    """sha256 over every file under ``paths`` (relative names and bytes, in name order).

    Hashing a multi-gigabyte checkpoint takes seconds, so each file's digest is remembered in the
    cache under its stat line (size, mtime, ctime, inode): replacing a file at the same path changes
    its ctime and inode, so new weights are always hashed anew.
    """
    digest = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p, root))
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode() + b"\0" if file != root else b"\0")
            digest.update(_file_digest(file, cache).encode())
    return digest.hexdigest()


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _file_digest(path: Path, cache: ResponseCache | None) -> str:
    st = path.stat()
    stat = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
    resolved = path.resolve()
    known = cache.file_digest(resolved, stat) if cache is not None else None
    if known is not None:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    if cache is not None:
        cache.store_file_digest(resolved, stat, value)
    return value


def function_identity(function: Any) -> str:
    """``module:qualname`` plus a hash of the source (the code object's bytes when there is no source)."""
    target = inspect.unwrap(function)
    name = f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', repr(target))}"
    try:
        source = inspect.getsource(target).encode()
    except (OSError, TypeError):
        code = getattr(target, "__code__", None) or getattr(type(target).__call__, "__code__", None)
        source = _code_bytes(code) if code is not None else repr(target).encode()
    return f"{name}#{hashlib.sha256(source).hexdigest()[:16]}"


def _code_bytes(code: Any) -> bytes:
    """The bytecode and constants of a code object, nested code objects included."""
    parts = [code.co_code]
    for const in code.co_consts:
        parts.append(_code_bytes(const) if inspect.iscode(const) else repr(const).encode())
    return b"\0".join(parts)


def provider_identity(provider: Any, model: ModelConfig) -> str:
    """What a provider says it serves: ``identity()``, else ``fingerprint()``, else the model's description."""
    for name in ("identity", "fingerprint"):
        method = getattr(provider, name, None)
        if callable(method):
            return json.dumps(method(), sort_keys=True, default=str)
    return model.describe()


def model_identity_without_provider(model: ModelConfig, cache: ResponseCache | None) -> str | None:
    """The identity of a model with local weights, computed without loading them (None: ask the provider)."""
    folders = local_folders(model)
    if not folders:
        return None
    return "content:" + content_hash(folders, cache)
