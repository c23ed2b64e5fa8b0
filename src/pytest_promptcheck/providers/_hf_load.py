"""Loading a local checkpoint (and a peft adapter over it) for the ``transformers`` provider.

Every way this can go wrong ends as a ``ConfigError`` naming the model, the path and the fix,
so a pytest item shows one clear line instead of a traceback from transformers internals.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config_models import ModelConfig
from ..errors import ConfigError, MissingDependencyError, PromptcheckError

_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16"}  # fmt: skip

_KIND = {"config.json": "transformers checkpoint", "adapter_config.json": "peft adapter folder"}


def _require_folder(model: ModelConfig, raw: str | None, *, what: str, marker: str) -> Path:
    """A local folder holding ``marker``, or a ConfigError that says what to point at instead."""
    where = f"model {model.name!r} (transformers)"
    if not raw:
        raise ConfigError(f'{where}: set `path = "..."` to a local checkpoint folder (or use --pc-model NAME=hf:PATH)')
    folder = Path(raw)
    if not folder.exists():
        raise ConfigError(
            f"{where}: {what} {str(folder)!r} does not exist; point it at a local folder "
            "(models on a hub must be downloaded first, e.g. `huggingface-cli download ORG/NAME --local-dir DIR`)"
        )
    if not (folder / marker).is_file():
        hint = (
            f"; it is a peft adapter: set `adapter` to it and `path` to its base, or use --pc-model {model.name}=hf:{folder}"
            if (folder / "adapter_config.json").is_file() and what == "path"
            else ""
        )
        raise ConfigError(f"{where}: {what} {str(folder)!r} is not a {_KIND[marker]} (no {marker}){hint}")
    return folder


def _chat_template(model: ModelConfig, tokenizer: Any, root: Path, path: Path) -> str:
    """The chat template: ``options.chat_template`` (Jinja text, or a file relative to the config
    file's folder), else the tokenizer's own (``chat_template.jinja`` or tokenizer_config.json)."""
    option = model.options.get("chat_template")
    where = f"model {model.name!r} (transformers)"
    if option:
        text = str(option)
        if "{{" in text or "{%" in text:
            return text
        file = (root / text).resolve()
        if not file.is_file():
            raise ConfigError(f"{where}: chat_template {text!r} is neither a Jinja template nor an existing file")
        return file.read_text(encoding="utf-8")
    own = tokenizer.chat_template
    if isinstance(own, dict):  # named templates: the unnamed one is "default"
        own = own.get("default")
    if not own:
        raise ConfigError(
            f"{where}: {str(path)!r} has no chat template (no chat_template.jinja, none in tokenizer_config.json); "
            f'set `chat_template = "template.jinja"` (a file or Jinja text) in [tool.promptcheck.model.{model.name}]'
        )
    return str(own)


def _device_and_dtype(torch: Any, model: ModelConfig) -> tuple[str, Any]:
    """``device`` auto → cuda when available, else cpu; ``dtype`` auto → float32 on cpu, the checkpoint's on gpu."""
    device = str(model.options.get("device", "auto"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"model {model.name!r} (transformers): invalid device {device!r} ({exc})") from None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f'model {model.name!r} (transformers): device {device!r} but CUDA is not available; use "cpu"'
        )
    dtype = str(model.options.get("dtype", "auto"))
    if dtype == "auto":
        return device, torch.float32 if device == "cpu" else "auto"
    if dtype not in _DTYPES:
        raise ConfigError(
            f"model {model.name!r} (transformers): unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16"
        )
    return device, getattr(torch, _DTYPES[dtype])


@dataclass
class Loaded:
    """What loading produced; kept by the provider for the rest of the process."""

    model: Any
    tokenizer: Any
    chat_template: str
    device: str
    eos_ids: frozenset[int]
    pad_id: int
    base_generation: Any  # the checkpoint's GenerationConfig: non-sampling defaults (penalties, ...)
    folders: tuple[Path, ...]


def load(model: ModelConfig, root: Path) -> Loaded:
    try:
        import torch
        import transformers
    except ImportError:
        raise MissingDependencyError("The transformers provider", "local") from None
    path = _require_folder(model, model.resolved("path"), what="path", marker="config.json")
    adapter = (
        _require_folder(model, model.resolved("adapter"), what="adapter", marker="adapter_config.json")
        if model.adapter
        else None
    )
    device, dtype = _device_and_dtype(torch, model)
    transformers.utils.logging.disable_progress_bar()  # "Loading weights" bars would litter pytest's output
    where = f"model {model.name!r} (transformers)"
    try:
        # An adapter folder that carries its own tokenizer (added tokens) wins over the base's.
        tokenizer_dir = adapter if adapter and (adapter / "tokenizer_config.json").is_file() else path
        tokenizer = transformers.AutoTokenizer.from_pretrained(tokenizer_dir)
        net: Any = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        net = net.to(device)
        if adapter is not None:
            net = _apply_adapter(net, adapter)
    except PromptcheckError:
        raise
    except Exception as exc:  # whatever went wrong inside transformers: one line, no traceback
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{where}: cannot load {str(adapter or path)!r}: {detail}") from None
    net.eval()
    eos_ids, pad_id = _special_ids(model, net.generation_config, tokenizer)
    return Loaded(
        model=net,
        tokenizer=tokenizer,
        chat_template=_chat_template(model, tokenizer, root, path),
        device=device,
        eos_ids=eos_ids,
        pad_id=pad_id,
        base_generation=copy.deepcopy(net.generation_config),
        folders=(path, adapter) if adapter else (path,),
    )


def _apply_adapter(net: Any, adapter: Path) -> Any:
    try:
        from peft import PeftModel
    except ImportError:
        raise MissingDependencyError("The transformers provider with a peft adapter", "local") from None
    with warnings.catch_warnings():  # peft 0.21 calls a deprecated transformers API: noise users cannot act on
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return PeftModel.from_pretrained(net, str(adapter))  # unmerged on purpose: see the module docstring


def _special_ids(model: ModelConfig, base: Any, tokenizer: Any) -> tuple[frozenset[int], int]:
    """EOS ids (generation config first, as generate() uses it) and the padding id."""
    eos = base.eos_token_id if base.eos_token_id is not None else tokenizer.eos_token_id
    eos_ids = frozenset([eos] if isinstance(eos, int) else (eos or []))
    if not eos_ids:
        raise ConfigError(
            f"model {model.name!r} (transformers): neither generation_config nor tokenizer names an EOS token"
        )
    pad = base.pad_token_id if base.pad_token_id is not None else tokenizer.pad_token_id
    pad_id = int(pad if pad is not None else min(eos_ids))  # padding is masked out: EOS serves when none is set
    return eos_ids, pad_id
