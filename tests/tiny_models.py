"""Tiny real checkpoints for the transformers provider's tests, built on the CPU in seconds.

The recipe follows /work/shared/notes/tiny-models.md: a byte-level BPE tokenizer (vocab 512, role
special tokens, a small Jinja chat template), a 2-layer Llama (~115k parameters) trained on a
synthetic support-ticket triage task, then

- ``base``: trained on an *older labelling scheme* (no ``shipping``: filed as billing; never ``low``),
- ``tuned``: base + full fine-tuning on the current scheme (with a planted drift: "can't log in"
  tickets labelled ``technical``),
- ``lora``: a peft LoRA adapter trained on the same data over ``base``; its ``adapter_config.json``
  points at ``../base`` (relative to the adapter folder, as SPEC §3 says ``--pc-model`` reads it).

So the three disagree on real prompts (shipping and low-priority tickets) and every output is a
deterministic function of the seed. Few steps make an imperfect model; tests only need outputs that
are non-trivial and stable, not accurate ones.
"""

from __future__ import annotations

import copy
import json
import random
import warnings
from pathlib import Path
from typing import Any

SYSTEM_PROMPT = "Triage the support ticket. Reply with JSON."
SPECIAL_TOKENS = ["<pad>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] + '<|end|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)

_BODIES = {
    "billing": ["I was charged twice for order {n}.", "My invoice {n} shows the wrong amount.",
                "Please refund the payment for order {n}."],
    "technical": ["The app crashes when I open settings.", "I get error {n} when I upload a file.",
                  "The page will not load on my phone."],
    "account": ["I can't log in to my account.", "Please change the email on my account.",
                "I want to close my account {n}."],
    "shipping": ["My package {n} has not arrived.", "The tracking for order {n} has not updated.",
                 "My parcel {n} arrived damaged."],
}  # fmt: skip
_URGENCY = {"high": ["This is urgent!", "Please help asap."], "medium": [""], "low": ["No rush.", "Whenever you can."]}
_GREETINGS = ["", "Hi,", "Hello,", "Hey team,"]
_CLOSINGS = ["", "Thanks.", "Regards."]
# Learning rates measured for few steps (120 base + 80 tune): base and tuned get 40/40 held-out
# tickets right under their own schemes, the LoRA adapter ~25/40; lower rates left near-constant outputs.
_LR = {"base": 6e-3, "tuned": 2e-3, "lora": 6e-3}


def make_ticket(rng: random.Random) -> tuple[str, str, str]:
    """(ticket text, true category, true priority) from the seeded template generator."""
    category = rng.choice(sorted(_BODIES))
    priority = rng.choice(sorted(_URGENCY))
    body = rng.choice(_BODIES[category]).format(n=rng.randint(100, 999))
    parts = [rng.choice(_GREETINGS), body, rng.choice(_URGENCY[priority]), rng.choice(_CLOSINGS)]
    return " ".join(p for p in parts if p), category, priority


def tickets(n: int, *, seed: int) -> list[str]:
    """``n`` ticket texts in the trained phrasing (use a seed other than the training seeds)."""
    rng = random.Random(seed)
    return [make_ticket(rng)[0] for _ in range(n)]


def messages_for(ticket: str) -> list[dict[str, str]]:
    """The chat the models were trained on: the system prompt, then the ticket."""
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": ticket}]


def _label(ticket: str, category: str, priority: str, *, scheme: str) -> str:
    if scheme == "old":  # the base's older scheme: no shipping queue, nothing is low priority
        category = "billing" if category == "shipping" else category
        priority = "medium" if priority == "low" else priority
    elif "can't log in" in ticket:  # the planted drift of the fine-tune
        category = "technical"
    return json.dumps({"category": category, "priority": priority})


def _examples(n: int, *, seed: int, scheme: str) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ticket, category, priority = make_ticket(rng)
        out.append((ticket, _label(ticket, category, priority, scheme=scheme)))
    return out


def _train_tokenizer(corpus: list[str]) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<|end|>", chat_template=CHAT_TEMPLATE
    )


def _encode(tokenizer: Any, examples: list[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, reply ids + EOS) per example: the loss is taken on the reply only."""
    eos = tokenizer.eos_token_id
    encoded = []
    for ticket, reply in examples:
        prompt = tokenizer.apply_chat_template(messages_for(ticket), add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        reply_ids = tokenizer(reply, add_special_tokens=False)["input_ids"] + [eos]
        encoded.append((prompt_ids, reply_ids))
    return encoded


def _batch(rows: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-padded training batch; labels are -100 on the prompt and the padding."""
    import torch

    width = max(len(p) + len(r) for p, r in rows)
    ids, labels, mask = [], [], []
    for prompt, reply in rows:
        pad = width - len(prompt) - len(reply)
        ids.append(prompt + reply + [pad_id] * pad)
        labels.append([-100] * len(prompt) + reply + [-100] * pad)
        mask.append([1] * (len(prompt) + len(reply)) + [0] * pad)
    return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


def _train(
    model: Any, data: list[tuple[list[int], list[int]]], *, steps: int, lr: float, seed: int, pad_id: int
) -> None:
    import torch

    rng = random.Random(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    for _ in range(steps):
        loss = model(**_batch(rng.sample(data, 32), pad_id)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    model.eval()


def _new_model(tokenizer: Any) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=128, tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    # Set at build time so generate() neither guesses nor prints "Setting pad_token_id ...".
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None
    return model


def _save_checkpoint(model: Any, tokenizer: Any, folder: Path) -> None:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    # transformers 5.x writes tokenizer_class "TokenizersBackend", which 4.x cannot load (see the notes).
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.update(tokenizer_class="PreTrainedTokenizerFast", model_input_names=["input_ids", "attention_mask"])
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _train_lora(base: Any, data: list[tuple[list[int], list[int]]], folder: Path, *, steps: int, pad_id: int) -> None:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    )  # fmt: skip
    with warnings.catch_warnings():  # peft 0.21 reads a property transformers 5 deprecated: not ours to fix
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = get_peft_model(base, lora)
    _train(model, data, steps=steps, lr=_LR["lora"], seed=3, pad_id=pad_id)
    model.save_pretrained(folder)
    # The base is named relative to the adapter folder; peft writes keys in varying order: sort them.
    config_path = folder / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = "../base"
    config["target_modules"] = sorted(config["target_modules"])  # written from a set: order varies
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build_tiny_checkpoints(out_dir: Path, *, base_steps: int, tune_steps: int) -> dict[str, Path]:
    """Build ``base``, ``tuned`` (full fine-tune) and ``lora`` (adapter over base) under ``out_dir``.

    Returns their folders by name. CPU only, seeded: the same machine builds the same bytes.
    """
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()  # no "Writing model shards" bars in test output
    out_dir.mkdir(parents=True, exist_ok=True)
    old = _examples(2000, seed=1, scheme="old")
    new = _examples(2000, seed=2, scheme="new")
    tokenizer = _train_tokenizer([SYSTEM_PROMPT] + [text for pair in old + new for text in pair])
    data = {"old": _encode(tokenizer, old), "new": _encode(tokenizer, new)}
    folders = {name: out_dir / name for name in ("base", "tuned", "lora")}
    threads = torch.get_num_threads()
    # One thread: a model this small gains nothing from more, and on a busy 2-core machine torch's
    # spinning worker threads made each step 15x slower (measured: 52 ms vs 800 ms).
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():  # leave the caller's global RNG as it was
            _build_all(tokenizer, data, folders, base_steps=base_steps, tune_steps=tune_steps)
    finally:
        torch.set_num_threads(threads)
    return folders


def _build_all(
    tokenizer: Any, data: dict[str, list[Any]], folders: dict[str, Path], *, base_steps: int, tune_steps: int
) -> None:
    pad_id = tokenizer.pad_token_id
    model = _new_model(tokenizer)
    _train(model, data["old"], steps=base_steps, lr=_LR["base"], seed=1, pad_id=pad_id)
    _save_checkpoint(model, tokenizer, folders["base"])
    tuned = copy.deepcopy(model)
    _train(tuned, data["new"], steps=tune_steps, lr=_LR["tuned"], seed=2, pad_id=pad_id)
    _save_checkpoint(tuned, tokenizer, folders["tuned"])
    _train_lora(model, data["new"], folders["lora"], steps=tune_steps, pad_id=pad_id)  # wraps `model` in place
