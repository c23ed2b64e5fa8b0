"""``LineageCallback``: a transformers/TRL ``TrainerCallback`` that writes the lineage file at every save.

Each ``checkpoint-<step>/`` folder the Trainer saves gets a ``promptcheck-lineage.json``
(:mod:`.lineage`) naming the exports and data trained on, the base model, the seed and the
training arguments that decide the result; the Trainer's own ``trainer_state.json`` beside it
keeps the step, epoch and best metric, which the run manifest reads too (:mod:`.checkpoint`)::

    from pytest_promptcheck import LineageCallback
    trainer = SFTTrainer(..., callbacks=[LineageCallback(exports=["fails.jsonl"], base_model="models/tuned")])

``on_train_end`` writes one into ``output_dir`` too, where ``trainer.save_model()`` puts the final
weights. Needs transformers (the ``local`` extra); importing this module imports it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import MissingDependencyError
from .lineage import TrainingInput, write_lineage

try:
    from transformers import TrainerCallback
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingDependencyError("pytest_promptcheck.LineageCallback", "local") from None

# The TrainingArguments that decide what a fine-tune learns (the rest is logging and I/O).
_ARGS = (
    "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
    "lr_scheduler_type", "warmup_steps", "warmup_ratio", "weight_decay", "max_grad_norm", "optim", "bf16", "fp16",
    "data_seed",
)  # fmt: skip
_LORA = ("r", "lora_alpha", "lora_dropout", "target_modules", "base_model_name_or_path")


class LineageCallback(TrainerCallback):  # type: ignore[misc]  # transformers is untyped here
    """Writes ``promptcheck-lineage.json`` into each saved checkpoint and the output folder."""

    def __init__(
        self,
        *,
        exports: Iterable[str | os.PathLike[str]] = (),
        data: Iterable[str | os.PathLike[str] | TrainingInput] = (),
        base_model: str | os.PathLike[str] | None = None,
    ) -> None:
        self.exports = list(exports)
        self.data = list(data)
        self.base_model = base_model

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            self._write(folder, args, kwargs.get("model"))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._write(Path(args.output_dir), args, kwargs.get("model"))

    def _write(self, folder: Path, args: Any, model: Any) -> None:
        parameters = {name: _plain(getattr(args, name)) for name in _ARGS if hasattr(args, name)}
        lora = _lora(model)
        if lora:
            parameters["lora"] = lora
        base = self.base_model or getattr(getattr(model, "config", None), "_name_or_path", None) or None
        write_lineage(
            folder, exports=self.exports, data=self.data, base_model=base, parameters=parameters,
            seed=getattr(args, "seed", None), trainer=f"{type(self).__module__}.LineageCallback",
        )  # fmt: skip


def _lora(model: Any) -> dict[str, Any]:
    """The peft adapter's settings, when the model being trained is a peft model."""
    configs = getattr(model, "peft_config", None)
    config = next(iter(configs.values()), None) if isinstance(configs, dict) else None
    return {k: _plain(getattr(config, k)) for k in _LORA if hasattr(config, k)} if config is not None else {}


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return value if isinstance(value, (str, int, float, bool, list, type(None))) else str(value)
