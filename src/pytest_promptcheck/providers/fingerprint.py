"""Fingerprints of a local checkpoint for the ``transformers`` provider: short hashes and what differs.

The provider hashes what shapes outputs besides the prompt (chat template, tokenizer, generation
config, weights); ``describe_drift`` turns two such fingerprints into readable differences.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

_FINGERPRINT_LABELS = {
    "chat_template": "chat template differs",
    "tokenizer": "tokenizer differs",
    "generation_config": "generation config differs",
    "weights": "weights differ",
}


def short_hash(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()[:16]


def describe_drift(
    a: Mapping[str, str],
    b: Mapping[str, str],
    *,
    ignore: Iterable[str] = ("weights",),
    details: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
) -> list[str]:
    """What differs between two ``fingerprint()`` results, e.g. ``["chat template differs"]``.

    ``weights`` are ignored by default: a baseline and a candidate differ in weights by design;
    a different chat template, tokenizer or generation config is the silent kind of drift.
    Keys known to one side only are not reported (nothing to compare). With ``details`` (the two
    sides' ``drift_details()``) each difference says where: ``generation config differs:
    temperature 0.7 vs 1.0``, ``chat template differs at line 2: '...' vs '...'``.
    """
    skipped = set(ignore)
    keys = [*_FINGERPRINT_LABELS, *sorted((set(a) | set(b)) - set(_FINGERPRINT_LABELS))]
    found = []
    for key in keys:
        if key in skipped or key not in a or key not in b or a[key] == b[key]:
            continue
        label = _FINGERPRINT_LABELS.get(key, f"{key.replace('_', ' ')} differs")
        where = _where_different(key, details[0].get(key), details[1].get(key)) if details else ""
        found.append(f"{label}{where}")
    return found


def _where_different(key: str, first: Any, second: Any) -> str:
    """``: temperature 0.7 vs 1.0`` (mappings: the keys whose values differ) or ``at line N: ... vs ...`` (text)."""
    if isinstance(first, Mapping) and isinstance(second, Mapping):
        changed = [
            f"{name} {_shown(first.get(name, _UNSET))} vs {_shown(second.get(name, _UNSET))}"
            for name in sorted(set(first) | set(second), key=str)
            if first.get(name, _UNSET) != second.get(name, _UNSET)
        ]
        more = f" (+{len(changed) - 4} more)" if len(changed) > 4 else ""
        return f": {', '.join(changed[:4])}{more}" if changed else ""
    if isinstance(first, str) and isinstance(second, str):  # where the texts part, with some context
        at = next((i for i, (x, y) in enumerate(zip(first, second)) if x != y), min(len(first), len(second)))
        line = first.count("\n", 0, at) + 1
        column = at - (first.rfind("\n", 0, at) + 1) + 1
        start = max(0, at - 20)
        return (
            f" at line {line}, column {column}: {_shown(first[start : at + 30])} vs {_shown(second[start : at + 30])}"
        )
    return ""


_UNSET: Any = object()  # a key one side does not have


def _shown(value: Any) -> str:
    if value is _UNSET:
        return "unset"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = text if len(text) <= 60 else text[:57] + "..."
    return repr(text) if isinstance(value, str) else text


def files_digest(folders: Iterable[Path]) -> str:
    """sha256 over the weight files (safetensors, else .bin) of each folder, in name order."""
    digest = hashlib.sha256()
    for folder in folders:
        files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
        for file in files:
            digest.update(file.name.encode() + b"\0")
            with file.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()
