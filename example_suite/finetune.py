"""Fine-tune the next checkpoint on exported failures: the step that closes the example's loop.

    pytest example_suite --pc-export fails.jsonl        # failing cases of the candidate, `ideal` as target
    python example_suite/finetune.py fails.jsonl        # -> example_suite/.promptcheck/checkpoints/tuned-1
    pytest example_suite --pc-gate --pc-model tuned=hf:example_suite/.promptcheck/checkpoints/tuned-1

The export choices shape the rows: ``--pc-export-variants all`` adds every prompt variant of a
failing case, ``--pc-export-rehearsal 0.25`` adds rows of passing cases, ``--pc-export-split 0.5``
holds whole cases out in ``fails.val.jsonl``. This script trains on every row of the training file
(whatever its source: it prints the counts from ``fails.manifest.json``) and scores the checkpoint
before and after on the validation file (``--val``, default ``<stem>.val.jsonl`` when it exists):
cases of the same weaknesses it never saw, the honest measure of a fix.

It continues training a checkpoint (``--from``, default the shipped ``tuned``) on the original
training data mixed with the exported rows, which are oversampled (``--mix`` of every batch) so a
handful of fixes is not drowned out by thousands of old examples. ``--lora`` writes a peft adapter
over ``--from`` instead of a full checkpoint. CPU, seeded, about 10-20 s.

Each checkpoint goes to a new numbered folder, ``.promptcheck/checkpoints/<--name>-<n>/`` with the
next free ``n`` (never one that exists or that a run record names), so a gate record keeps pointing
at the weights it judged. Beside the weights, ``promptcheck-lineage.json`` (written with
``pytest_promptcheck.write_lineage``) names the export and the run it came from, the other training
data, the checkpoint trained from, the parameters, the seed and the library versions; ``promptcheck
lineage RUN`` follows it back.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_models  # the training helpers next to this file

import data
from pytest_promptcheck import write_lineage
from pytest_promptcheck.runs.lineage import TrainingInput

HERE = Path(__file__).resolve().parent
Chat = list[dict[str, str]]


def read_chats(path: Path) -> list[Chat]:
    """openai-chat rows (``{"messages": [...]}``) whose last message is the assistant's target."""
    chats = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        messages = json.loads(line).get("messages")
        if not messages or messages[-1].get("role") != "assistant":
            raise SystemExit(f"{path}:{number}: not an openai-chat row ending with an assistant message")
        chats.append([{"role": m["role"], "content": m["content"]} for m in messages])
    return chats


def mixed_batches(
    fixes: build_models.Encoded, original: build_models.Encoded, *, mix: float, seed: int
) -> Callable[[int], build_models.Encoded]:
    """Batches of ``build_models.BATCH`` rows: a ``mix`` share drawn (with replacement) from the
    fixes, the rest from the original data (so the model keeps what it knew)."""
    rng = random.Random(seed)
    n_fix = max(1, round(build_models.BATCH * mix))
    return lambda _step: rng.choices(fixes, k=n_fix) + rng.sample(original, build_models.BATCH - n_fix)


def finetune(
    export: Path,
    *,
    start: Path,
    out: Path,
    train: Path | None,
    steps: int,
    lr: float,
    mix: float,
    lora: bool,
    val: list[Chat] | None = None,
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Write the new checkpoint (or adapter) to ``out``.

    Returns the number of exported rows used and the held-out scores before and after (with the
    validation split's under ``"val"``).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    build_models.single_thread()
    fixes = read_chats(export)
    if not fixes:
        raise SystemExit(f"{export}: no rows to train on (did the candidate fail any case with an `ideal`?)")
    original = read_chats(train) if train else data.training_chats("new")
    tokenizer = AutoTokenizer.from_pretrained(start)
    model = AutoModelForCausalLM.from_pretrained(start)
    # Tickets neither trained on before nor in the export: whether the fix generalises.
    val = val or []
    exclude = {chat[-2]["content"].rsplit("Ticket: ", 1)[-1] for chat in [*fixes, *val]}
    before = build_models.heldout_score(model, tokenizer, exclude=exclude)
    before["val"] = split_score(model, tokenizer, val)
    torch.manual_seed(0)
    if lora:
        model = build_models.lora_model(model)
    batches = mixed_batches(
        build_models.encode(tokenizer, fixes), build_models.encode(tokenizer, original), mix=mix, seed=0
    )
    build_models.train(model, batches, steps=steps, lr=lr, pad_id=tokenizer.pad_token_id)
    if lora:
        build_models.save_lora(model, start, out)
    else:
        build_models.save_checkpoint(model, tokenizer, out)
    after = build_models.heldout_score(model, tokenizer, exclude=exclude)
    after["val"] = split_score(model, tokenizer, val)
    return len(fixes), before, after


def split_score(model: Any, tokenizer: Any, chats: list[Chat]) -> dict[str, Any]:
    """Exact answers on the validation split's rows (their prompts, each row's target as the answer)."""
    if not chats:
        return {"n": 0, "exact": 0, "wrong": []}
    replies = build_models.generate(model, tokenizer, [chat[:-1] for chat in chats])
    wrong = [(chat[-2]["content"], r) for chat, r in zip(chats, replies) if r != chat[-1]["content"]]
    return {"n": len(chats), "exact": len(chats) - len(wrong), "wrong": wrong}


def export_sources(export: Path) -> str:
    """``4 failing, 2 variant-added, 1 rehearsal`` from the export's manifest ("" when it has none)."""
    manifest = export.with_name(export.name.removesuffix(".jsonl") + ".manifest.json")
    try:
        sources = json.loads(manifest.read_text(encoding="utf-8"))["rows"]["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return ", ".join(f"{sources.get(k, 0)} {k.replace('_', '-')}" for k in ("failing", "variant_added", "rehearsal"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fine-tune a new checkpoint on exported failures (CPU).")
    parser.add_argument("export", type=Path, help="openai-chat JSONL written by pytest --pc-export")
    parser.add_argument(
        "--from", dest="start", type=Path, default=HERE / "models" / "tuned", help="checkpoint to continue from"
    )
    parser.add_argument(
        "--out", type=Path, help="where to write (default: .promptcheck/checkpoints/NAME-N, the next free N)"
    )
    parser.add_argument("--name", default="tuned", help="the numbered folders' name (default tuned)")
    parser.add_argument("--train", type=Path, help="original training data, openai-chat JSONL (default: data.py's)")
    parser.add_argument("--steps", type=int, default=150, help="training steps (default 150)")
    parser.add_argument("--lr", type=float, help="learning rate (default 1e-3, with --lora 3e-3)")
    parser.add_argument("--mix", type=float, default=0.25, help="share of each batch from the export (default 0.25)")
    parser.add_argument("--lora", action="store_true", help="write a peft LoRA adapter over --from")
    parser.add_argument(
        "--val", type=Path, help="validation split to score before and after (default: <stem>.val.jsonl if it exists)"
    )
    args = parser.parse_args(argv)
    if args.val is None and args.export.with_name(args.export.name.removesuffix(".jsonl") + ".val.jsonl").is_file():
        args.val = args.export.with_name(args.export.name.removesuffix(".jsonl") + ".val.jsonl")
    val = read_chats(args.val) if args.val else []
    if not 0 < args.mix < 1:
        parser.error("--mix is a share of each batch: between 0 and 1")
    if args.out is None:
        args.out = next_checkpoint(HERE / ".promptcheck" / "checkpoints", args.name, HERE / ".promptcheck" / "runs")
    elif args.out.exists() and any(args.out.iterdir()):
        parser.error(
            f"--out {args.out} is not empty: a run record may name it; omit --out for the next numbered folder"
        )
    began = time.perf_counter()
    lr = args.lr or (3e-3 if args.lora else 1e-3)
    rows, before, after = finetune(
        args.export, start=args.start, out=args.out, train=args.train,
        steps=args.steps, lr=lr, mix=args.mix, lora=args.lora, val=val,
    )  # fmt: skip
    trained_on = [args.train] if args.train else [default_data()]
    write_lineage(
        args.out, exports=[_shown(args.export)], data=trained_on, base_model=_shown(args.start),
        parameters={"steps": args.steps, "lr": lr, "mix": args.mix, "lora": args.lora, "batch": build_models.BATCH,
                    "exported_rows": rows},
        seed=0, trainer=_shown(Path(__file__)),
    )  # fmt: skip
    kind = "LoRA adapter" if args.lora else "checkpoint"
    train = args.train or "data.py's fine-tuning data"
    sources = export_sources(args.export)
    print(f"{kind} trained on {rows} exported rows{f' ({sources})' if sources else ''} + {train} "
          f"in {time.perf_counter() - began:.1f} s")  # fmt: skip
    # The gate judges the suite's cases, and those are training data now: tickets that neither the
    # suite nor the training data hold tell whether the fix generalised or was memorised.
    print(build_models.describe_score(f"before ({args.start.name})", before))
    print(build_models.describe_score("after", after))
    for ticket, reply in after["wrong"][:3]:
        print(f"  still wrong: {ticket!r} -> {reply}")
    if val:
        n = after["val"]["n"]
        print(f"validation split ({_shown(args.val)}, cases held out of training): exact "
              f"{before['val']['exact']}/{n} before, {after['val']['exact']}/{n} after")  # fmt: skip
        for prompt, reply in after["val"]["wrong"][:3]:
            print(f"  still wrong: {prompt.rsplit('Ticket: ', 1)[-1]!r} -> {reply}")
    if after["exact"] <= before["exact"] and after["wrong"]:
        print(
            "  the exported cases were memorised, not generalised: look at what the wrong ones share and fix\n"
            "  those labels in the training data (here: python example_suite/data.py --scheme correct --out\n"
            "  correct.jsonl, then --train correct.jsonl)"
        )
    print(f"wrote {_shown(args.out)}")
    print("gate it against the baseline with:")
    print(f"  pytest {_shown(HERE)} --pc-gate --pc-model tuned=hf:{_shown(args.out)}")
    return 0


def next_checkpoint(folder: Path, name: str, runs: Path) -> Path:
    """``folder/<name>-<n>`` with ``n`` above every existing folder's and every one a run record names."""
    pattern = re.compile(rf"{re.escape(name)}-(\d+)")
    taken = [p.name for p in folder.glob(f"{name}-*")]
    for manifest in runs.glob("*/manifest.json"):  # a deleted checkpoint a record still names stays taken
        try:
            models = json.loads(manifest.read_text(encoding="utf-8")).get("models") or {}
        except (OSError, ValueError, AttributeError):
            continue
        taken += [Path(str(m.get(k))).name for m in models.values() if isinstance(m, dict) for k in ("path", "adapter")]
    numbers = [int(match[1]) for t in taken if (match := pattern.fullmatch(t))]
    return folder / f"{name}-{max(numbers, default=0) + 1}"


def default_data() -> TrainingInput:
    """data.py's fine-tuning chats: no file, so the generator's source identifies them."""
    source = HERE / "data.py"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    return TrainingInput(
        f"{_shown(source)}:training_chats('new')", digest, note="generated by data.py (sha256 of data.py)"
    )


def _shown(path: Path) -> str:
    """``path`` relative to the current directory when it lies below it, else absolute."""
    relative = os.path.relpath(path.resolve())
    return str(path.resolve()) if relative.startswith("..") else relative


if __name__ == "__main__":
    raise SystemExit(main())
