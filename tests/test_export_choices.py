"""Export choices (issue 19): target, variants, rehearsal and balance, from the command line and
``[tool.promptcheck.export]``; rows and manifest counts exact, seeded, loadable by TRL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import PromptProject
from pytest_promptcheck.cli.main import main
from test_export import CHECKS, read_jsonl

# base echoes, tuned shouts (candidate). tuned fails r1-r3 and nolabel on both variants, g1 only on
# `guided` (its output says TICKET); ok1-ok3 pass on both sides.
SUITE = """
prompts:
  terse: "{{ x }}"
  guided:
    - system: "You are a support bot."
    - user: "Ticket: {{ x }}"
cases:
  - {id: r1, tags: [billing], vars: {x: "refund one"}, ideal: "refund one", assert: [{contains: refund}]}
  - {id: r2, tags: [billing], vars: {x: "refund two"}, ideal: "refund two", assert: [{contains: refund}]}
  - {id: r3, tags: [billing], vars: {x: "refund three"}, ideal: "refund three", assert: [{contains: refund}]}
  - {id: g1, tags: [shipping], vars: {x: "ship it"}, ideal: "ship it", assert: [{contains: TICKET, not: true}]}
  - {id: nolabel, tags: [account], vars: {x: "refund later"}, assert: [{contains: refund}]}
  - {id: ok1, tags: [misc], vars: {x: "FINE one"}, ideal: "FINE one", assert: [{contains: FINE}]}
  - {id: ok2, tags: [misc], vars: {x: "FINE two"}, ideal: "FINE two", assert: [{contains: FINE}]}
  - {id: ok3, tags: [misc], vars: {x: "FINE three"}, assert: [{contains: FINE}]}
"""


def setup_project(project: PromptProject, extra: str = "") -> None:
    project.config(
        {"base": "app:echo", "tuned": "app:echo_upper"}, f'baseline = "base"\ncandidate = "tuned"\nseed = 3\n{extra}'
    )
    project.suite(body=SUITE)


def manifest_of(path: Path) -> dict[str, Any]:
    return json.loads(path.with_name(path.name.replace(".jsonl", ".manifest.json")).read_text())


def user_texts(rows: list[dict[str, Any]]) -> list[str]:
    return [r["messages"][-2]["content"] for r in rows]


def cli_export(pytester: pytest.Pytester, *args: str) -> int:
    return main(["--runs", str(pytester.path / ".promptcheck" / "runs"), "export", "latest", *args])


def test_default_export_is_unchanged_and_counts_its_sources(pytester: pytest.Pytester, project: PromptProject) -> None:
    """No choice given: the failing rows with their `ideal`, the choices and sources in the manifest."""
    setup_project(project)
    pytester.runpytest("--pc-export", "out/ft.jsonl")
    out = pytester.path / "out" / "ft.jsonl"
    assert sorted(user_texts(read_jsonl(out))) == [
        "Ticket: refund one", "Ticket: refund three", "Ticket: refund two", "Ticket: ship it",
        "refund one", "refund three", "refund two",
    ]  # fmt: skip
    manifest = manifest_of(out)
    assert manifest["choices"] == {
        "target": "ideal", "variants": "failing", "rehearsal": 0.0, "balance": "none", "split_by": "case"}  # fmt: skip
    assert manifest["rows"] == {
        "sources": {"failing": 7, "variant_added": 0, "rehearsal": 0},
        "no_target": {"failing": 2, "variant_added": 0},
        "rehearsal_pool": 0,
        "tags": {"billing": {"before": 6, "after": 6}, "shipping": {"before": 1, "after": 1}},
    }


def test_variants_all_adds_the_passing_variant_of_a_failing_case(
    pytester: pytest.Pytester, project: PromptProject
) -> None:
    """g1 fails on `guided` only: variants = all adds its `terse` prompt, with the case's ideal."""
    setup_project(project)
    result = pytester.runpytest("--pc-export", "out/v.jsonl", "--pc-export-variants", "all")
    result.stdout.fnmatch_lines(["promptcheck export rows: 7 failing, 1 variant-added, 0 rehearsal"])
    rows = read_jsonl(pytester.path / "out" / "v.jsonl")
    assert len(rows) == 8
    assert {"messages": [{"role": "user", "content": "ship it"}, {"role": "assistant", "content": "ship it"}]} in rows
    assert manifest_of(pytester.path / "out" / "v.jsonl")["rows"]["sources"] == {
        "failing": 7, "variant_added": 1, "rehearsal": 0}  # fmt: skip


def test_rehearsal_share_is_exact_and_seeded(
    pytester: pytest.Pytester, project: PromptProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """rehearsal 0.2 over 8 rows: 2 rows of passing cases (share 2/10); the same seed gives the same bytes,
    another seed another sample; a share the passing cases cannot fill is a warning."""
    setup_project(project)
    flags = ["--pc-export-variants", "all", "--pc-export-rehearsal", "0.2"]
    pytester.runpytest("--pc-export", "out/a.jsonl", *flags)
    pytester.runpytest("--pc-export", "out/b.jsonl", *flags)
    a, b = pytester.path / "out" / "a.jsonl", pytester.path / "out" / "b.jsonl"
    assert a.read_bytes() == b.read_bytes()
    rows = read_jsonl(a)
    rehearsed = [t for t in user_texts(rows) if "FINE" in t]
    assert len(rows) == 10 and len(rehearsed) == 2
    assert set(rehearsed) <= {"FINE one", "FINE two", "Ticket: FINE one", "Ticket: FINE two"}  # ok3 has no ideal
    counts = manifest_of(a)["rows"]
    assert counts["sources"] == {"failing": 7, "variant_added": 1, "rehearsal": 2} and counts["rehearsal_pool"] == 4
    samples = set()
    for seed in range(6):
        out = pytester.path / "seeds" / f"{seed}.jsonl"
        assert cli_export(pytester, "--variants", "all", "--rehearsal", "0.2", "--seed", str(seed), "-o", str(out)) == 0
        samples.add(tuple(t for t in user_texts(read_jsonl(out)) if "FINE" in t))
        assert manifest_of(out)["seed"] == seed
    assert len(samples) > 1, "another seed draws another rehearsal sample"
    capsys.readouterr()
    assert cli_export(pytester, "--rehearsal", "0.9", "-o", str(pytester.path / "big.jsonl")) == 0
    assert "rehearsal 0.9 wants 63 rows from passing cases; the run has 4" in capsys.readouterr().out


def test_target_passing_takes_the_baselines_output_and_dpo_rejects_the_failure(
    pytester: pytest.Pytester, project: PromptProject
) -> None:
    """target = passing: chosen is base's passing output on the same prompt, rejected tuned's failing one;
    the unlabelled case gets a row too, and nothing needs a label."""
    setup_project(project)
    pytester.runpytest("--pc-export", "out/p.jsonl", "--pc-export-target", "passing", "--pc-export-format", "trl-dpo")
    rows = read_jsonl(pytester.path / "out" / "p.jsonl")
    for row in rows:
        CHECKS["trl-dpo"](row)
        assert row["rejected"][0]["content"] == row["chosen"][0]["content"].upper()
    assert {"prompt": [{"role": "system", "content": "You are a support bot."},
                       {"role": "user", "content": "Ticket: refund later"}],
            "chosen": [{"role": "assistant", "content": "Ticket: refund later"}],
            "rejected": [{"role": "assistant", "content": "TICKET: REFUND LATER"}]} in rows  # fmt: skip
    assert len(rows) == 9 and not (pytester.path / "out" / "p.needs-label.jsonl").exists()
    assert manifest_of(pytester.path / "out" / "p.jsonl")["rows"]["no_target"] == {"failing": 0, "variant_added": 0}


def test_ideal_or_passing_and_balance_by_tag(pytester: pytest.Pytester, project: PromptProject) -> None:
    """ideal-or-passing fills the unlabelled case from base; balance = tag caps billing (6 rows) at the
    median rows per tag (2), keeping failing rows before variant-added ones."""
    setup_project(project)
    pytester.runpytest(
        "--pc-export", "out/b.jsonl", "--pc-export-target", "ideal-or-passing", "--pc-export-variants", "all",
        "--pc-export-balance", "tag",
    )  # fmt: skip
    out = pytester.path / "out" / "b.jsonl"
    rows = read_jsonl(out)
    texts = user_texts(rows)
    assert {
        "messages": [{"role": "user", "content": "refund later"}, {"role": "assistant", "content": "refund later"}]
    } in rows
    assert sum("refund" in t and "later" not in t for t in texts) == 2 and len(rows) == 6
    assert "ship it" in texts and "Ticket: ship it" in texts
    assert manifest_of(out)["rows"]["tags"] == {
        "account": {"before": 2, "after": 2},
        "billing": {"before": 6, "after": 2},
        "shipping": {"before": 2, "after": 2},
    }


def test_split_keeps_every_variant_of_a_case_on_one_side(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A split with variants = all and rehearsal: validation holds whole cases (both variants), rehearsal
    rows go to the training file only."""
    setup_project(project)
    pytester.runpytest(
        "--pc-export", "out/s.jsonl", "--pc-export-variants", "all", "--pc-export-rehearsal", "0.25",
        "--pc-export-split", "0.5",
    )  # fmt: skip
    train = user_texts(read_jsonl(pytester.path / "out" / "s.jsonl"))
    val = user_texts(read_jsonl(pytester.path / "out" / "s.val.jsonl"))

    def cases(texts: list[str]) -> set[str]:
        return {t.removeprefix("Ticket: ") for t in texts}

    assert val and not cases(train) & cases(val)
    assert all(len([t for t in val if t.removeprefix("Ticket: ") == c]) == 2 for c in cases(val))
    assert not any("FINE" in t for t in val)
    rehearsed = [t for t in train if "FINE" in t]
    assert len(rehearsed) == round(0.25 * (len(train) - len(rehearsed)) / 0.75) and rehearsed


def test_config_table_and_cli_precedence(
    pytester: pytest.Pytester, project: PromptProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """[tool.promptcheck.export] sets the choices for --pc-export and `promptcheck export`; a flag beats it."""
    setup_project(project, '[tool.promptcheck.export]\nvariants = "all"\ntarget = "ideal-or-passing"\n')
    pytester.runpytest("--pc-export", "out/c.jsonl")
    assert manifest_of(pytester.path / "out" / "c.jsonl")["choices"]["variants"] == "all"
    assert len(read_jsonl(pytester.path / "out" / "c.jsonl")) == 10  # 9 failing (nolabel from base) + g1 terse
    pytester.runpytest("--pc-export", "out/d.jsonl", "--pc-export-variants", "failing")
    choices = manifest_of(pytester.path / "out" / "d.jsonl")["choices"]
    assert (choices["variants"], choices["target"]) == ("failing", "ideal-or-passing")
    assert cli_export(pytester, "-o", str(pytester.path / "e.jsonl")) == 0
    assert manifest_of(pytester.path / "e.jsonl")["choices"]["variants"] == "all"
    assert cli_export(pytester, "--variants", "failing", "-o", str(pytester.path / "f.jsonl")) == 0
    assert manifest_of(pytester.path / "f.jsonl")["choices"]["variants"] == "failing"


def test_bad_choices_name_the_key_and_the_fix(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A wrong value in the table or on the command line names where it was written; flags need --pc-export."""
    table = "pyproject.toml: [tool.promptcheck.export]"
    for body, message in (
        ("rehearsal = 1.0", f"{table} rehearsal must be a number of at least 0 and below 1, got 1.0"),
        ('balance = "tags"\nsize = 3', f"{table}: unknown key 'size'; valid: target, variants, rehearsal, balance"),
        ('balance = "tags"', f"{table} balance must be one of none, tag, got 'tags'"),
    ):
        setup_project(project, f"[tool.promptcheck.export]\n{body}\n")
        result = pytester.runpytest("--pc-export", "x.jsonl")
        assert result.ret == pytest.ExitCode.USAGE_ERROR and message in result.stderr.str()
    setup_project(project)
    result = pytester.runpytest("--pc-export", "x.jsonl", "--pc-export-rehearsal", "-0.1")
    assert "--pc-export-rehearsal must be a number of at least 0 and below 1, got -0.1" in result.stderr.str()
    pytester.runpytest("--pc-export-variants", "all").stderr.fnmatch_lines(
        ["*--pc-export-variants needs --pc-export PATH (where the training file goes)*"]
    )


def test_rows_load_in_datasets_and_trl(
    pytester: pytest.Pytester, project: PromptProject, trl_libs: tuple[Any, Any]
) -> None:
    """trl-sft and trl-dpo files with every choice load with datasets.load_dataset('json') as TRL's
    conversational prompt-completion and preference rows; the model's chat template renders them."""
    datasets, trl = trl_libs
    transformers = pytest.importorskip("transformers")
    setup_project(project)
    flags = ["--pc-export-variants", "all", "--pc-export-rehearsal", "0.2", "--pc-export-target", "ideal-or-passing"]
    pytester.runpytest("--pc-export", "sft.jsonl", "--pc-export-format", "trl-sft", *flags)
    pytester.runpytest("--pc-export", "dpo.jsonl", "--pc-export-format", "trl-dpo", *flags)
    tokenizer = transformers.AutoTokenizer.from_pretrained(Path(__file__).parent.parent / "example_suite/models/base")
    for name, columns in (("sft", ["prompt", "completion"]), ("dpo", ["prompt", "chosen", "rejected"])):
        rows = datasets.load_dataset(
            "json", data_files=str(pytester.path / f"{name}.jsonl"), split="train", cache_dir=str(pytester.path / "hf")
        )
        assert rows.column_names == columns and len(rows) > 0
        for row in rows:
            assert trl.is_conversational(row)
            rendered = trl.apply_chat_template(row, tokenizer)
            assert rendered["prompt"] and all(rendered[c] for c in columns[1:])
    assert manifest_of(pytester.path / "dpo.jsonl")["rows"]["sources"] == {
        "failing": 9, "variant_added": 0, "rehearsal": 0}  # fmt: skip


TAGS = {"refund one": "billing", "refund two": "billing", "refund three": "billing", "ship it": "shipping",
        "refund later": "account", "FINE one": "misc", "FINE two": "misc", "FINE three": "misc"}  # fmt: skip
FAILING = {"refund one", "refund two", "refund three", "ship it", "refund later"}  # on the candidate
CHOICES = ["--variants", "all", "--rehearsal", "0.2", "--balance", "tag", "--split", "0.6"]


def test_the_plan_counts_the_rows_the_export_writes(
    pytester: pytest.Pytester, project: PromptProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """variants = all + rehearsal + balance = tag + a split: the plan (the run's report, and `promptcheck plan`
    with the same choices from flags or from [tool.promptcheck.export]) counts the training and validation
    rows, their sources, the cases held out and the export's shares exactly as the written files have them.

    billing has 6 rows (r1-r3, both variants), shipping 2 (g1 guided + its terse, variant-added): balance
    caps billing at the median, 4 (a billing case it drops is held out); the split sends whole cases to
    validation; the rehearsal row of a passing misc case goes to training, so that case is not held out."""
    setup_project(project)
    flags = [f"--pc-export-{flag[2:]}" if flag.startswith("--") else flag for flag in CHOICES]
    pytester.runpytest("--pc-export", "out/p.jsonl", *flags, "--pc-report", "json:r.json", "--pc-record")
    out = pytester.path / "out" / "p.jsonl"
    manifest = manifest_of(out)
    train = [t.removeprefix("Ticket: ") for t in user_texts(read_jsonl(out))]
    val = [t.removeprefix("Ticket: ") for t in user_texts(read_jsonl(out.with_name("p.val.jsonl")))]
    sources = manifest["rows"]["sources"]
    # Every choice had an effect: rows of each source, a validation file, billing capped.
    assert all(sources.values()) and manifest["counts"]["validation"]
    assert manifest["rows"]["tags"]["billing"] == {"before": 6, "after": 4}

    def check(analysis: dict[str, Any]) -> None:
        plan, rep = analysis["plan"], analysis["representativeness"]
        assert plan["export"]["rows"] == len(train) == manifest["counts"]["train"]
        assert rep["export_rows"] == len(train)
        assert plan["export"]["validation"] == len(val) == manifest["counts"]["validation"]
        assert plan["export"]["sources"] == sources
        assert (plan["export"]["cases"], plan["export"]["validation_cases"]) == (len(set(train)), len(set(val)))
        for tag in ("billing", "shipping", "misc"):
            suite = {x for x, t in TAGS.items() if t == tag}
            planned = next((w for w in plan["weaknesses"] if (w["kind"], w["key"]) == ("tag", tag)), None)
            if planned is not None:  # misc never fails: no weakness, but its share below
                assert planned["held_out"] == len(suite - set(train))
                # billing: a case balance dropped is held out too, as a case in the validation file
                assert planned["held_out_failing"] == len((suite & FAILING) - set(train))
                assert planned["train_rows"] == sum(TAGS[t] == tag for t in train)
            share = next(s for s in rep["shares"] if (s["group"], s["value"]) == ("tag", tag))
            assert share["export"] == sum(TAGS[t] == tag for t in train)

    check(json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["analysis"])
    runs = ["--runs", str(pytester.path / ".promptcheck" / "runs")]
    capsys.readouterr()
    assert main([*runs, "plan", "latest", "--json", *CHOICES]) == 0
    check(json.loads(capsys.readouterr().out))
    setup_project(project, '[tool.promptcheck.export]\nvariants = "all"\nrehearsal = 0.2\nbalance = "tag"\n')
    assert main([*runs, "plan", "latest", "--json", "--split", "0.6"]) == 0  # the rest from the config table
    check(json.loads(capsys.readouterr().out))
    assert main([*runs, "plan", "latest", *CHOICES]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "export (side candidate, target ideal, variants all, rehearsal 0.2, balance tag, split 0.6 by case, seed 3): "
        "5 training rows from 3 cases (3 failing, 1 variant-added, 1 rehearsal); 2 validation rows from 1 cases; "
        "0 need a label"
    )
    assert (len(train), len(set(train)), len(val), len(set(val))) == (5, 3, 2, 1)  # the files: the same numbers


def test_the_plan_follows_the_formats_rules(
    pytester: pytest.Pytester, project: PromptProject, capsys: pytest.CaptureFixture[str]
) -> None:
    """A preference format makes no row of a variant-added prompt (nothing failed there to reject): the
    plan of the run (--pc-export-format) and `promptcheck plan --format` count without it, as the export."""
    setup_project(project)
    flags = ["--pc-export-format", "trl-dpo", "--pc-export-variants", "all"]
    pytester.runpytest("--pc-export", "out/d.jsonl", *flags, "--pc-report", "json:r.json", "--pc-record")
    manifest = manifest_of(pytester.path / "out" / "d.jsonl")
    assert manifest["counts"]["skipped"] == {"a preference row needs a failing output to reject": 1}
    plan = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["analysis"]["plan"]
    assert plan["export"]["rows"] == manifest["counts"]["train"] == 7
    assert plan["export"]["sources"]["variant_added"] == 0
    runs = ["--runs", str(pytester.path / ".promptcheck" / "runs")]
    capsys.readouterr()
    assert main([*runs, "plan", "latest", "--json", "--variants", "all", "--format", "trl-dpo"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"]["export"]["rows"] == 7
    assert main([*runs, "plan", "latest", "--json", "--variants", "all"]) == 0  # openai-chat keeps it
    assert json.loads(capsys.readouterr().out)["plan"]["export"]["rows"] == 8
