"""Lineage: promptcheck-lineage.json (write_lineage / read_lineage), what a checkpoint folder carries into
the run manifest, the dirty flag's untracked files, finetune.py's numbered folders, `promptcheck lineage`."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PromptProject
from pytest_promptcheck import read_lineage, write_lineage
from pytest_promptcheck.cli.main import main
from pytest_promptcheck.providers.identity import content_hash
from pytest_promptcheck.runs.checkpoint import carried
from pytest_promptcheck.runs.lineage import LineageError

EXAMPLE = Path(__file__).resolve().parent.parent / "example_suite"

SUITE = """
prompts: {p: "{{ reply }}"}
cases:
  - id: wrong
    vars: {reply: "technical"}
    ideal: account
    assert: [{equals: account}]
  - id: right
    vars: {reply: "billing"}
    assert: [{equals: billing}]
"""


def exported_run(pytester: pytest.Pytester, project: PromptProject) -> Path:
    """One run with a failing case that has an `ideal`, exported to ft.jsonl; its run folder."""
    project.suite(body=SUITE)
    pytester.runpytest("-p", "no:randomly", "--pc-export", "ft.jsonl").assert_outcomes(passed=1, failed=1)
    return sorted((pytester.path / ".promptcheck" / "runs").iterdir())[-1]


def test_write_lineage_names_the_export_its_run_and_the_base(pytester: pytest.Pytester, project: PromptProject) -> None:
    """The lineage file holds the export's hash, run and lineage id, the data, base hash, parameters, versions."""
    run = exported_run(pytester, project)
    base = pytester.path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    data = pytester.makefile(".jsonl", train='{"messages": []}\n')
    written = write_lineage(
        pytester.path / "ckpt", exports=[pytester.path / "ft.jsonl"], data=[data], base_model=base,
        parameters={"lr": 0.001, "steps": 5}, seed=3, trainer="train.py",
    )  # fmt: skip
    assert read_lineage(pytester.path / "ckpt") == written
    export_manifest = json.loads((pytester.path / "ft.manifest.json").read_text())
    (export,) = written.exports
    assert (export.run_id, export.lineage_id, export.rows) == (run.name, export_manifest["lineage_id"], 1)
    assert export.sha256 == hashlib.sha256((pytester.path / "ft.jsonl").read_bytes()).hexdigest()
    assert export_manifest["sha256"]["ft.jsonl"] == export.sha256
    assert written.data[0].sha256 == hashlib.sha256(data.read_bytes()).hexdigest()
    assert written.base_model == {"path": str(base), "sha256": content_hash([base])}
    assert (written.parameters, written.seed, written.checkpoint) == ({"lr": 0.001, "steps": 5}, 3, "ckpt")
    assert set(written.libraries) >= {"torch", "transformers", "peft", "tokenizers", "openai", "anthropic"}
    assert read_lineage(base) is None  # a folder without one


def test_a_checkpoint_folder_carries_trainer_files_into_the_record(tmp_path: Path) -> None:
    """trainer_state, training_args, adapter_config and the model card's datasets: the fields that identify."""
    (tmp_path / "trainer_state.json").write_text(json.dumps(
        {"global_step": 120, "epoch": 2.0, "best_metric": 0.41, "log_history": [{"loss": 1.0}] * 50}))  # fmt: skip
    (tmp_path / "training_args.json").write_text(json.dumps({"learning_rate": 2e-4, "seed": 42, "output_dir": "/x"}))
    (tmp_path / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"],
         "base_model_name_or_path": "../base", "revision": None}))  # fmt: skip
    (tmp_path / "README.md").write_text("---\nlicense: mit\ndatasets:\n- acme/tickets\n---\n# card\n")
    write_lineage(tmp_path, parameters={"steps": 120}, seed=42)
    found = carried(tmp_path)
    assert found["trainer_state"] == {"global_step": 120, "epoch": 2.0, "best_metric": 0.41}
    assert found["training_args"] == {"learning_rate": 2e-4, "seed": 42}
    assert found["adapter_config"] == {"peft_type": "LORA", "r": 8, "lora_alpha": 16,
                                       "target_modules": ["q_proj", "v_proj"], "base_model_name_or_path": "../base"}  # fmt: skip
    assert found["datasets"] == ["acme/tickets"]
    assert found["lineage"]["parameters"] == {"steps": 120} and "unreadable" not in found


def test_an_unreadable_lineage_file_is_named_not_fatal(tmp_path: Path) -> None:
    """A broken lineage file: the reader names it with the fix; the manifest lists it as unreadable."""
    (tmp_path / "promptcheck-lineage.json").write_text("{not json")
    with pytest.raises(LineageError, match=r"promptcheck-lineage.json: not readable JSON .*write_lineage"):
        read_lineage(tmp_path)
    assert carried(tmp_path) == {"unreadable": ["promptcheck-lineage.json"]}


def test_untracked_files_under_the_suites_make_the_run_dirty(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A new suite git does not know makes `dirty` true; run records, caches and bytecode do not."""
    project.suite(body=SUITE)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run([*git, *args], cwd=pytester.path, check=True)
    pytester.runpytest("-p", "no:randomly")
    pytester.runpytest("-p", "no:randomly")  # the first run's record and cache exist now: still clean
    runs = pytester.path / ".promptcheck" / "runs"
    assert json.loads((sorted(runs.iterdir())[-1] / "manifest.json").read_text())["git"]["dirty"] is False
    project.suite(name="test_new", body=SUITE)
    pytester.runpytest("-p", "no:randomly")
    state = json.loads((sorted(runs.iterdir())[-1] / "manifest.json").read_text())["git"]
    assert (state["dirty"], state["untracked"]) == (True, 1)


def test_finetune_numbers_past_folders_and_records(tmp_path: Path) -> None:
    """finetune.py's next folder: above every existing one and every one a run record still names."""
    checkpoints, runs = tmp_path / "checkpoints", tmp_path / "runs"
    (checkpoints / "tuned-1").mkdir(parents=True)
    (checkpoints / "tuned-x").mkdir()
    (runs / "r1").mkdir(parents=True)  # a record naming tuned-4, whose folder was deleted since
    (runs / "r1" / "manifest.json").write_text(
        json.dumps({"models": {"tuned": {"path": "x/tuned-4", "adapter": None}}})
    )
    code = (
        f"import sys; from pathlib import Path; sys.path.insert(0, {str(EXAMPLE)!r}); import finetune; "
        f"print(finetune.next_checkpoint(Path({str(checkpoints)!r}), 'tuned', Path({str(runs)!r})).name)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "tuned-5", done.stderr


def test_lineage_of_a_checkpoint_not_gated_yet(
    pytester: pytest.Pytester, project: PromptProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """`promptcheck lineage CHECKPOINT`: the run its export came from, what was trained, and the gate to run."""
    run = exported_run(pytester, project)
    write_lineage(pytester.path / "ckpt", exports=[pytester.path / "ft.jsonl"], parameters={"steps": 5}, seed=1)
    capsys.readouterr()
    assert main(["--runs", str(run.parent), "lineage", str(pytester.path / "ckpt")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"run {run.name}  no gate  echo 1/2 (50%)")
    assert any(line.strip().startswith("trained ckpt on ") and "(1 rows)" in line and "steps 5, seed 1" in line
               for line in out), out  # fmt: skip
    assert out[-1].startswith("ckpt: not gated yet: pytest --pc-gate --pc-model CANDIDATE=hf:")


def test_lineage_names_a_run_whose_record_is_gone(
    pytester: pytest.Pytester, project: PromptProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """The export's run record deleted: the chain still names the run and where it looked."""
    run = exported_run(pytester, project)
    write_lineage(pytester.path / "ckpt", exports=[pytester.path / "ft.jsonl"], seed=1)
    shutil.rmtree(run)
    capsys.readouterr()
    assert main(["--runs", str(run.parent), "lineage", str(pytester.path / "ckpt")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"run {run.name}  (no record in {run.parent}: deleted or kept elsewhere; give --runs DIR)"
    assert out[1].startswith("  trained ckpt on ") and out[1].endswith("ft.jsonl (1 rows): seed 1"), out


def test_lineage_of_a_folder_without_one(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder with no lineage file: exit 1, the folder named and how to write one."""
    (pytester.path / "weights").mkdir()
    assert main(["lineage", str(pytester.path / "weights")]) == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "has no promptcheck-lineage.json; write one from the training script with pytest_promptcheck.write_lineage"
        )
    )


def test_trainer_callback_writes_lineage_into_each_checkpoint(tmp_path: Path) -> None:
    """A real transformers Trainer (2 CPU steps on the example's base): checkpoint-2 gets a lineage file with
    the training arguments, and the manifest's reader finds it beside trainer_state.json."""
    pytest.importorskip("torch")
    pytest.importorskip("accelerate")
    transformers = pytest.importorskip("transformers")
    from pytest_promptcheck import LineageCallback

    model = transformers.AutoModelForCausalLM.from_pretrained(EXAMPLE / "models" / "base")
    rows = [{"input_ids": [5, 6, 7, 8], "attention_mask": [1, 1, 1, 1], "labels": [5, 6, 7, 8]}] * 4
    data = tmp_path / "fails.jsonl"
    data.write_text('{"messages": []}\n')
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=2, save_steps=2, per_device_train_batch_size=2,
        learning_rate=5e-4, seed=11, report_to=[], use_cpu=True, logging_steps=1, disable_tqdm=True,
    )  # fmt: skip
    callback = LineageCallback(exports=[data], base_model=EXAMPLE / "models" / "base")
    transformers.Trainer(model=model, args=args, train_dataset=rows, callbacks=[callback]).train()
    found = carried(tmp_path / "out" / "checkpoint-2")
    lineage = found["lineage"]
    assert lineage["parameters"]["learning_rate"] == 5e-4 and lineage["parameters"]["max_steps"] == 2
    assert lineage["seed"] == 11 and lineage["exports"][0]["path"] == str(data)
    assert lineage["base_model"]["sha256"] == content_hash([EXAMPLE / "models" / "base"])
    assert found["trainer_state"]["global_step"] == 2
    assert read_lineage(tmp_path / "out") is not None  # on_train_end: the output folder too
