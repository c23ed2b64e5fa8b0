"""Export of failing calls as fine-tuning data (SPEC §10), checked against each format's published rules
(notes/finetune-formats.md): OpenAI chat and DPO, Bedrock Claude, TRL SFT and DPO."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import PromptProject
from pytest_promptcheck.cli.main import main

SUITE = """
prompts:
  terse: "{{ x }}"
  guided:
    - system: "You are a support bot."
    - user: "Ticket: {{ x }}"
cases:
  - id: refund
    vars: {x: "refund please"}
    ideal: "refund please"
    assert: [{contains: refund}]
  - id: same-prompt
    vars: {x: "refund please"}
    ideal: "refund please"
    assert: [{contains: refund}]
  - id: names
    vars: {x: "{{ name }} wants a refund"}
    counterfactual: {name: [Ann, Bo]}
    ideal: "refund for you"
    assert: [{contains: refund}]
  - id: repeated
    vars: {x: "refund twice"}
    repeat: 3
    ideal: "refund twice"
    assert: [{contains: refund}]
  - id: unlabeled
    vars: {x: "shipping delay"}
    assert: [{contains: shipping}]
  - id: both-fail
    vars: {x: "hello"}
    ideal: "zzz"
    assert: [{contains: zzz}]
  - id: fine
    vars: {x: "PASS"}
    ideal: "PASS"
    assert: [{contains: PASS}]
"""


def setup_project(project: PromptProject) -> None:
    """base echoes (passes the refund cases), tuned shouts (fails them); both fail `both-fail`."""
    project.config({"base": "app:echo", "tuned": "app:echo_upper"}, 'baseline = "base"\ncandidate = "tuned"\nseed = 3')
    project.suite(body=SUITE)


# -- validators written from the published rules ---------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "no BOM"
    text = raw.decode("utf-8")
    assert text == "" or text.endswith("\n")
    rows = []
    for line in text.split("\n")[:-1]:
        assert line.strip(), "no blank lines"
        row = json.loads(line)
        assert isinstance(row, dict), "each line is one JSON object"
        rows.append(row)
    return rows


def _text_message(message: Any, roles: set[str]) -> None:
    assert isinstance(message, dict) and {"role", "content"} <= set(message)
    assert message["role"] in roles, message
    assert isinstance(message["content"], str) and message["content"], message


def check_openai_chat(row: dict[str, Any]) -> None:
    """OpenAI SFT (cookbook checks): `messages` only; role/content; known roles; one assistant target, last."""
    assert set(row) == {"messages"}
    messages = row["messages"]
    assert isinstance(messages, list) and messages
    for m in messages:
        assert set(m) <= {"role", "content", "name", "function_call", "weight"}
        _text_message(m, {"system", "user", "assistant", "function"})
    assert [m["role"] for m in messages].count("assistant") == 1 and messages[-1]["role"] == "assistant"
    assert all(m["role"] == "system" for m in messages[: [m["role"] for m in messages].index("user")])


def check_openai_dpo(row: dict[str, Any]) -> None:
    """OpenAI DPO: input.messages (not ending with assistant), one assistant message in each output list."""
    assert set(row) == {"input", "preferred_output", "non_preferred_output"}
    assert set(row["input"]) == {"messages"}
    prompt = row["input"]["messages"]
    assert prompt and prompt[-1]["role"] != "assistant"
    for m in prompt:
        _text_message(m, {"system", "user", "assistant"})
    for key in ("preferred_output", "non_preferred_output"):
        assert isinstance(row[key], list) and len(row[key]) == 1
        assert set(row[key][0]) == {"role", "content"}
        _text_message(row[key][0], {"assistant"})
    assert row["preferred_output"] != row["non_preferred_output"]


def check_bedrock(row: dict[str, Any]) -> None:
    """Bedrock Claude: optional string `system`, >= 2 messages alternating from user to assistant, no extra keys."""
    assert set(row) <= {"system", "messages"} and "messages" in row
    assert isinstance(row.get("system", ""), str)
    messages = row["messages"]
    assert len(messages) >= 2 and messages[0]["role"] == "user" and messages[-1]["role"] == "assistant"
    for i, m in enumerate(messages):
        assert set(m) == {"role", "content"}
        _text_message(m, {"user", "assistant"})
        assert m["role"] == ("user" if i % 2 == 0 else "assistant")


def check_trl_sft(row: dict[str, Any]) -> None:
    """TRL SFT, conversational prompt-completion: `prompt` messages, `completion` one assistant message."""
    assert set(row) == {"prompt", "completion"}
    assert isinstance(row["prompt"], list) and row["prompt"] and "role" in row["prompt"][0]  # trl.is_conversational
    for m in row["prompt"]:
        _text_message(m, {"system", "user", "assistant"})
    assert row["prompt"][-1]["role"] != "assistant"
    assert len(row["completion"]) == 1
    _text_message(row["completion"][0], {"assistant"})


def check_trl_dpo(row: dict[str, Any]) -> None:
    """TRL DPO, conversational with explicit prompt: `chosen` and `rejected` one assistant message each."""
    assert set(row) == {"prompt", "chosen", "rejected"}
    for m in row["prompt"]:
        _text_message(m, {"system", "user", "assistant"})
    for key in ("chosen", "rejected"):
        assert len(row[key]) == 1
        _text_message(row[key][0], {"assistant"})
    assert row["chosen"] != row["rejected"]


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "openai-chat": check_openai_chat,
    "openai-dpo": check_openai_dpo,
    "bedrock-claude": check_bedrock,
    "trl-sft": check_trl_sft,
    "trl-dpo": check_trl_dpo,
}


def prompt_of(fmt: str, row: dict[str, Any]) -> str:
    if fmt == "openai-chat":
        return json.dumps(row["messages"][:-1])
    if fmt == "openai-dpo":
        return json.dumps(row["input"]["messages"])
    if fmt == "bedrock-claude":
        return json.dumps([row.get("system"), row["messages"][:-1]])
    return json.dumps(row["prompt"])


def target_of(fmt: str, row: dict[str, Any]) -> str:
    key = {"openai-chat": "messages", "bedrock-claude": "messages", "trl-sft": "completion"}.get(fmt)
    if key is not None:
        return str(row[key][-1]["content"])
    return str((row.get("preferred_output") or row.get("chosen"))[0]["content"])


# -- tests ------------------------------------------------------------------------------------------


def cli_export(pytester: pytest.Pytester, *args: str) -> int:
    """``promptcheck --runs <project runs> export ARGS``, run in this process."""
    return main(["--runs", str(pytester.path / ".promptcheck" / "runs"), "export", *args])


def test_every_format_passes_its_rules(pytester: pytest.Pytester, project: PromptProject) -> None:
    """One real run, exported in all five formats (plugin and CLI): every row passes its format's checks."""
    setup_project(project)
    result = pytester.runpytest("--pc-export", "out/chat.jsonl")
    result.stdout.fnmatch_lines(
        [
            "promptcheck export: 10 rows -> out/chat.jsonl (2 need a label) from 18 failing calls (side: candidate)",
            "*short test summary info*",
        ]
    )
    files = {"openai-chat": pytester.path / "out" / "chat.jsonl"}
    for fmt in ("openai-dpo", "bedrock-claude", "trl-sft", "trl-dpo"):
        files[fmt] = pytester.path / "out" / f"{fmt}.jsonl"
        assert cli_export(pytester, "latest", "--format", fmt, "-o", str(files[fmt])) == 0
    for fmt, path in files.items():
        rows = read_jsonl(path)
        assert len(rows) == 10, fmt
        for row in rows:
            CHECKS[fmt](row)
        prompts = [prompt_of(fmt, row) for row in rows]
        assert len(set(prompts)) == len(prompts), "one row per distinct rendered prompt"
    bedrock = read_jsonl(files["bedrock-claude"])
    assert {"system": "You are a support bot.", "messages": [
        {"role": "user", "content": "Ticket: refund please"}, {"role": "assistant", "content": "refund please"}]} in bedrock  # fmt: skip
    dpo = read_jsonl(files["trl-dpo"])
    assert {"prompt": [{"role": "user", "content": "refund twice"}], "chosen": [{"role": "assistant", "content": "refund twice"}],
            "rejected": [{"role": "assistant", "content": "REFUND TWICE"}]} in dpo  # fmt: skip


def test_companion_files(pytester: pytest.Pytester, project: PromptProject) -> None:
    """needs-label rows carry the output; the manifest has run id, suite hashes, side and counts."""
    setup_project(project)
    pytester.runpytest("--pc-export", "out/ft.jsonl")
    labels = read_jsonl(pytester.path / "out" / "ft.needs-label.jsonl")
    assert {(r["case"], r["variant"], r["output"]) for r in labels} == {
        ("unlabeled", "terse", "SHIPPING DELAY"), ("unlabeled", "guided", "TICKET: SHIPPING DELAY")}  # fmt: skip
    assert all(r["ideal"] is None and r["failed"] for r in labels)
    manifest = json.loads((pytester.path / "out" / "ft.manifest.json").read_text())
    run = sorted((pytester.path / ".promptcheck" / "runs").iterdir())[-1]
    assert manifest["run_id"] == run.name and manifest["side"] == "candidate" and manifest["format"] == "openai-chat"
    assert (
        list(manifest["suites"]) == ["test_suite.prompts.yaml"]
        and len(manifest["suites"]["test_suite.prompts.yaml"]) == 64
    )
    assert manifest["counts"] == {"failing_calls": 18, "train": 10, "validation": 0, "needs_label": 2, "skipped": {}}


def test_side_all_gives_one_row_per_prompt_with_the_candidates_output(
    pytester: pytest.Pytester, project: PromptProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """A prompt failing on both sides is one row, the candidate's output rejected; a small file gets a warning."""
    setup_project(project)
    pytester.runpytest("--pc-export", "out/all.jsonl", "--pc-export-side", "all", "--pc-export-format", "openai-dpo")
    rows = read_jsonl(pytester.path / "out" / "all.jsonl")
    both = [r for r in rows if r["preferred_output"][0]["content"] == "zzz"]
    assert sorted(r["non_preferred_output"][0]["content"] for r in both) == ["HELLO", "TICKET: HELLO"]
    assert len(rows) == 10
    out = pytester.path / "out" / "base.jsonl"
    capsys.readouterr()
    assert cli_export(pytester, "latest", "--side", "baseline", "-o", str(out)) == 0
    assert sorted(r["messages"][-2]["content"] for r in read_jsonl(out)) == ["Ticket: hello", "hello"]
    assert "OpenAI fine-tuning needs at least 10 examples; the file has 2" in capsys.readouterr().out


def test_first_failing_sample_of_repeats(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Of a repeated case, the row is built from its first failing sample (sample 0 passes here: sample 1's)."""
    from pytest_promptcheck.calls.plan import derive_seed

    samples = {str(derive_seed(0, "r", i)): i for i in range(4)}
    pytester.makepyfile(flip=f"SAMPLES = {samples!r}\n\ndef reply(messages, params):\n"
                             "    sample = SAMPLES[str(params['seed'])]\n"
                             "    return 'good' if sample == 0 else f'bad {sample}'\n")  # fmt: skip
    project.config({"m": "flip:reply"})
    project.suite(body='prompts: {p: "q"}\ncases:\n  - {id: r, repeat: 4, ideal: good, assert: [{contains: good}]}\n')
    pytester.runpytest("--pc-export", "out/r.jsonl", "--pc-export-format", "trl-dpo").assert_outcomes(failed=1)
    assert [r["rejected"][0]["content"] for r in read_jsonl(pytester.path / "out" / "r.jsonl")] == ["bad 1"]


def test_split_holds_out_whole_cases_by_seed(pytester: pytest.Pytester, project: PromptProject) -> None:
    """--pc-export-split puts whole cases in <stem>.val.jsonl, the same ones on every export of the run."""
    setup_project(project)
    result = pytester.runpytest(
        "--pc-export", "out/s.jsonl", "--pc-export-split", "0.5", "--pc-export-format", "trl-sft"
    )
    result.stdout.fnmatch_lines(["promptcheck export: * rows -> out/s.jsonl (* validation rows, *"])
    train = read_jsonl(pytester.path / "out" / "s.jsonl")
    val = read_jsonl(pytester.path / "out" / "s.val.jsonl")
    assert len(train) + len(val) == 10 and train and val
    assert not {target_of("trl-sft", r) for r in train} & {target_of("trl-sft", r) for r in val}  # ideal ~ case here
    again = pytester.path / "again" / "s.jsonl"
    cli_export(pytester, "latest", "--format", "trl-sft", "--split", "0.5", "-o", str(again))
    assert again.with_name("s.val.jsonl").read_text() == (pytester.path / "out" / "s.val.jsonl").read_text()


def test_export_options_are_checked(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A split outside (0, 1] or without --pc-export is a usage error saying why."""
    project.suite(body='prompts: {p: "x"}\ncases: [{id: a}]\n')
    pytester.runpytest("--pc-export", "x.jsonl", "--pc-export-split", "1.5").stderr.fnmatch_lines(
        ["*--pc-export-split is the train share, between 0 and 1 (got 1.5)*"]
    )
    pytester.runpytest("--pc-export-split", "0.8").stderr.fnmatch_lines(["*--pc-export-split needs --pc-export PATH*"])


def test_cli_resolves_runs(
    pytester: pytest.Pytester, project: PromptProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """RUN is a folder, an id prefix or `latest` (runs folder from pyproject.toml); an unknown one exits 1."""
    setup_project(project)
    pytester.runpytest()
    run = sorted((pytester.path / ".promptcheck" / "runs").iterdir())[-1]
    pytester.chdir()
    assert main(["export", run.name[:12], "-o", "a.jsonl"]) == 0
    assert main(["export", str(run), "-o", "b.jsonl"]) == 0
    assert main(["export", "latest"]) == 0
    assert (run / "export.openai-chat.jsonl").read_text() == Path("a.jsonl").read_text() == Path("b.jsonl").read_text()
    capsys.readouterr()
    assert main(["export", "nope"]) == 1
    assert "run 'nope' matches no run record" in capsys.readouterr().err


def test_no_failures_still_writes_a_valid_empty_file(pytester: pytest.Pytester, project: PromptProject) -> None:
    """All passing: an empty training file, a manifest, and a warning in the summary (not an error)."""
    project.suite(
        body='prompts: {p: "{{ x }}"}\ncases: [{id: a, vars: {x: ok}, ideal: ok, assert: [{contains: ok}]}]\n'
    )
    result = pytester.runpytest("--pc-export", "ft.jsonl")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["promptcheck export warning: no failing call with an `ideal` to train on"])
    assert (pytester.path / "ft.jsonl").read_text() == ""
    assert (pytester.path / "ft.manifest.json").is_file()


def test_rows_that_break_a_format_are_skipped_and_counted() -> None:
    """A prompt ending with an assistant turn, empty text, or no distinct rejected output makes no row;
    Bedrock joins system messages and merges consecutive turns of one role."""
    from pytest_promptcheck.outputs.export import build_row

    prefill = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "Answer:"}]
    assert build_row("openai-chat", prefill, "a", "b") == (None, "prompt ends with an assistant turn")
    assert build_row("trl-sft", [{"role": "user", "content": ""}], "a", "b") == (None, "empty message")
    assert build_row("openai-dpo", [{"role": "user", "content": "q"}], "same", "same") == (
        None,
        "no distinct rejected output",
    )
    messages = [{"role": "system", "content": "s1"}, {"role": "user", "content": "u1"}, {"role": "system", "content": "s2"},
                {"role": "user", "content": "u2"}]  # fmt: skip
    row, _ = build_row("bedrock-claude", messages, "ideal", "bad")
    assert row == {
        "system": "s1\n\ns2",
        "messages": [{"role": "user", "content": "u1\n\nu2"}, {"role": "assistant", "content": "ideal"}],
    }
    check_bedrock(row)
    starts_wrong = [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "q"}]
    assert build_row("bedrock-claude", starts_wrong, "a", "b") == (
        None,
        "bedrock needs the first turn to be the user's",
    )
