"""Build the example's tiny real checkpoints on the CPU: a tokenizer, ``base`` and ``tuned``.

    python example_suite/build_models.py                  # writes example_suite/models/{base,tuned}
    python example_suite/build_models.py --out /tmp/m --base-steps 300 --tune-steps 300 --lora

- tokenizer: byte-level BPE (vocab 512) trained on the task data, with role tokens and a chat template;
- ``base``: a 2-layer Llama (~115k parameters) trained on the *old* labelling scheme (see data.py);
- ``tuned``: ``base`` + full fine-tuning on the *new* scheme (with its planted "can't log in" drift);
- ``tuned-lora`` (``--lora``): the same fine-tune as a peft LoRA adapter over ``base``.

Seeded and single-threaded: the same machine builds the same bytes. Other CPUs may build other bytes
with the same behaviour, which is why the built checkpoints are committed and tests check behaviour.
The training helpers here are shared with finetune.py.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # the generator next to this file

HERE = Path(__file__).resolve().parent
SPECIAL_TOKENS = ["<pad>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] + '<|end|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
BATCH = 32
LR = {"base": 3e-3, "tuned": 1e-3, "lora": 3e-3}
Chat = list[dict[str, str]]
Encoded = list[tuple[list[int], list[int]]]


def train_tokenizer(corpus: list[str]) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    tok.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=512, special_tokens=SPECIAL_TOKENS, initial_alphabet=alphabet, show_progress=False
        ),
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<|end|>", chat_template=CHAT_TEMPLATE
    )


def encode(tokenizer: Any, chats: list[Chat]) -> Encoded:
    """(prompt ids, reply ids + EOS) per chat; the reply is the last (assistant) message."""
    out = []
    for chat in chats:
        prompt = tokenizer.apply_chat_template(chat[:-1], add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        reply_ids = tokenizer(chat[-1]["content"], add_special_tokens=False)["input_ids"]
        out.append((prompt_ids, [*reply_ids, tokenizer.eos_token_id]))
    return out


def _batch(rows: Encoded, pad_id: int) -> dict[str, Any]:
    """Right-padded batch; the loss is on the reply only (labels -100 on prompt and padding)."""
    import torch

    width = max(len(p) + len(r) for p, r in rows)
    ids, labels, mask = [], [], []
    for prompt, reply in rows:
        pad = width - len(prompt) - len(reply)
        ids.append(prompt + reply + [pad_id] * pad)
        labels.append([-100] * len(prompt) + reply + [-100] * pad)
        mask.append([1] * (len(prompt) + len(reply)) + [0] * pad)
    return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


def train(model: Any, batches: Callable[[int], Encoded], *, steps: int, lr: float, pad_id: int) -> None:
    """AdamW for ``steps`` steps; ``batches(step)`` returns the rows of that step."""
    import torch

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
    model.train()
    for step in range(steps):
        model(**_batch(batches(step), pad_id)).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    model.eval()


def sampler(rows: Encoded, *, seed: int) -> Callable[[int], Encoded]:
    rng = random.Random(seed)
    return lambda _step: rng.sample(rows, BATCH)


def new_model(tokenizer: Any) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=128, tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    # Set at build time, so generate() neither guesses nor prints "Setting pad_token_id ...".
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None
    return model


def _rewrite_json(path: Path, **changes: Any) -> None:
    """Rewrite a JSON file with ``changes`` and sorted keys (stable bytes)."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(changes)
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def save_checkpoint(model: Any, tokenizer: Any, folder: Path) -> None:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    # transformers 5.x writes tokenizer_class "TokenizersBackend", which 4.x cannot load.
    _rewrite_json(
        folder / "tokenizer_config.json",
        tokenizer_class="PreTrainedTokenizerFast",
        model_input_names=["input_ids", "attention_mask"],
    )


def save_lora(model: Any, base_folder: Path, folder: Path) -> None:
    """Save a peft model's adapter; its base is named relative to the adapter folder (absolute when
    the two share no folder but the root)."""
    model.save_pretrained(folder)
    (folder / "README.md").unlink(missing_ok=True)  # peft's empty model card
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    _rewrite_json(
        folder / "adapter_config.json",
        base_model_name_or_path=_relative_or_absolute(base_folder.resolve(), folder.resolve()),
        target_modules=sorted(config["target_modules"]),  # written from a set: the order varies
    )


def _relative_or_absolute(target: Path, start: Path) -> str:
    return str(target) if os.path.commonpath([target, start]) == target.anchor else os.path.relpath(target, start)


def lora_model(base: Any) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    )  # fmt: skip
    with warnings.catch_warnings():  # peft reads a property transformers 5 deprecated
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(base, lora)


def generate(model: Any, tokenizer: Any, chats: list[Chat], *, max_new_tokens: int = 24) -> list[str]:
    """Greedy replies to ``chats``, in one left-padded batch (as the transformers provider runs them)."""
    import torch

    tokenizer.padding_side = "left"
    enc = tokenizer.apply_chat_template(
        chats, add_generation_prompt=True, tokenize=True, padding=True, return_dict=True, return_tensors="pt"
    )
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False)
    width = enc["input_ids"].shape[1]
    return [tokenizer.decode(row[width:], skip_special_tokens=True).strip() for row in out]


def heldout_score(model: Any, tokenizer: Any, *, n: int = 100, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Valid-JSON and exact-answer counts on ``n`` generated tickets in no training set (nor ``exclude``)."""
    tickets = data.heldout_tickets(n, exclude=exclude)
    replies = generate(model, tokenizer, [data.messages(t.text) for t in tickets])
    valid = sum(_is_json_object(r) for r in replies)
    wrong = [(t.text, r) for t, r in zip(tickets, replies) if r != data.ideal(t)]
    return {"n": n, "valid_json": valid, "exact": n - len(wrong), "wrong": wrong}


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def describe_score(name: str, score: dict[str, Any]) -> str:
    n = score["n"]
    return f"{name}: held-out tickets: valid JSON {score['valid_json']}/{n}, exact {score['exact']}/{n}"


def single_thread() -> None:
    """One thread, quiet transformers: a model this small gains nothing from more threads, and on a
    busy machine torch's spinning worker threads made each step many times slower."""
    import torch
    import transformers

    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()


def build(out: Path, *, base_steps: int, tune_steps: int, with_lora: bool) -> dict[str, Path]:
    """Build the checkpoints under ``out``; returns their folders by name."""
    single_thread()
    old, new = data.training_chats("old"), data.training_chats("new")
    corpus = [m["content"] for chat in old + new for m in chat]
    tokenizer = train_tokenizer(corpus)
    pad = tokenizer.pad_token_id
    folders = {"base": out / "base", "tuned": out / "tuned"}
    model = new_model(tokenizer)
    train(model, sampler(encode(tokenizer, old), seed=1), steps=base_steps, lr=LR["base"], pad_id=pad)
    save_checkpoint(model, tokenizer, folders["base"])
    new_rows = encode(tokenizer, new)
    tuned = copy.deepcopy(model)
    train(tuned, sampler(new_rows, seed=2), steps=tune_steps, lr=LR["tuned"], pad_id=pad)
    save_checkpoint(tuned, tokenizer, folders["tuned"])
    if with_lora:
        folders["tuned-lora"] = out / "tuned-lora"
        adapted = lora_model(model)
        train(adapted, sampler(new_rows, seed=3), steps=tune_steps, lr=LR["lora"], pad_id=pad)
        save_lora(adapted, folders["base"], folders["tuned-lora"])
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the example's tiny base and fine-tuned checkpoints (CPU).")
    parser.add_argument("--out", type=Path, default=HERE / "models", help="output folder (default: %(default)s)")
    parser.add_argument("--base-steps", type=int, default=600, help="training steps of base (default 600)")
    parser.add_argument("--tune-steps", type=int, default=600, help="fine-tuning steps of tuned (default 600)")
    parser.add_argument("--lora", action="store_true", help="also train a LoRA adapter over base (tuned-lora)")
    parser.add_argument("--check", action="store_true", help="then score base and tuned on held-out tickets")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    folders = build(args.out, base_steps=args.base_steps, tune_steps=args.tune_steps, with_lora=args.lora)
    for name, folder in folders.items():
        print(f"{name:>10}: {folder}")
    print(f"built in {time.perf_counter() - start:.1f} s")
    if args.check:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        for name in ("base", "tuned"):
            tokenizer = AutoTokenizer.from_pretrained(folders[name])
            model = AutoModelForCausalLM.from_pretrained(folders[name])
            print(describe_score(name, heldout_score(model, tokenizer)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
