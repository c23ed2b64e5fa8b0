"""What a checkpoint or adapter folder carries about its training, for the run manifest.

Read from the files trainers leave beside the weights, never from the weights: the
``promptcheck-lineage.json`` (:mod:`.lineage`), Hugging Face Trainer's ``trainer_state.json`` and
``training_args.json``, peft's ``adapter_config.json`` and the model card's (``README.md``) YAML
front matter ``datasets:``. Each is optional; a file that does not parse is named in
``unreadable`` instead of failing the run (the run record is evidence, not a validator).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from ..config_models import ModelConfig
from .lineage import LINEAGE_FILE, LineageError, read_lineage

_TRAINER_STATE = ("global_step", "epoch", "max_steps", "best_metric", "best_model_checkpoint")
_TRAINING_ARGS = (
    "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
    "lr_scheduler_type", "warmup_steps", "warmup_ratio", "weight_decay", "seed", "data_seed", "bf16", "fp16",
)  # fmt: skip
_ADAPTER = ("peft_type", "r", "lora_alpha", "lora_dropout", "target_modules", "base_model_name_or_path", "task_type")


def carried(folder: Path) -> dict[str, Any]:
    """The training facts in one folder (empty when it carries none)."""
    found: dict[str, Any] = {}
    unreadable: list[str] = []
    try:
        lineage = read_lineage(folder)
    except LineageError:
        lineage = None
        unreadable.append(LINEAGE_FILE)
    if lineage is not None:
        found["lineage"] = lineage.to_json()
    for name, key, fields in (
        ("trainer_state.json", "trainer_state", _TRAINER_STATE),
        ("training_args.json", "training_args", _TRAINING_ARGS),
        ("adapter_config.json", "adapter_config", _ADAPTER),
    ):
        data = _json(folder / name, unreadable)
        if data is not None:
            found[key] = {k: data[k] for k in fields if k in data}
    datasets = _card_datasets(folder / "README.md", unreadable)
    if datasets:
        found["datasets"] = datasets
    if unreadable:
        found["unreadable"] = unreadable
    return found


def model_training(model: ModelConfig) -> dict[str, Any]:
    """What the model's checkpoint and adapter folders carry; the adapter's facts win (it is what was trained)."""
    merged: dict[str, Any] = {}
    for raw in (model.path, model.adapter):
        if raw and "${" not in raw and Path(raw).is_dir():
            merged.update(carried(Path(raw)))
            if raw == model.path and model.adapter:
                merged.pop("lineage", None)  # the base's lineage is not the adapter's
    return merged


def runtime(model: ModelConfig) -> dict[str, Any] | None:
    """Device, dtype and torch threads of a transformers model, as far as known without importing torch."""
    if model.provider != "transformers":
        return None
    device = str(model.options.get("device", "auto"))
    torch = sys.modules.get("torch")  # loaded by the provider when the model answered in this process
    if device == "auto" and torch is not None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = str(model.options.get("dtype", "auto"))
    if dtype == "auto" and device == "cpu":
        dtype = "float32"  # what the provider loads on a CPU (providers/_hf_load.py)
    return {"device": device, "dtype": dtype, "threads": torch.get_num_threads() if torch is not None else None}


def _json(path: Path, unreadable: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        unreadable.append(path.name)
        return None
    return data if isinstance(data, dict) else None


def _card_datasets(path: Path, unreadable: list[str]) -> list[str]:
    """``datasets:`` of the model card's front matter (``---`` YAML ``---`` at the top of README.md)."""
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return []
    if not text.startswith("---"):
        return []
    front = text[3:].split("\n---", 1)[0]
    try:
        meta = yaml.safe_load(front)
    except yaml.YAMLError:
        unreadable.append(path.name)
        return []
    datasets = meta.get("datasets") if isinstance(meta, dict) else None
    if isinstance(datasets, str):
        return [datasets]
    return [str(d) for d in datasets] if isinstance(datasets, list) else []
