"""The Markdown summary: --pc-report md:PATH and `promptcheck report RUN --md OUT`, sized for a PR comment."""

from __future__ import annotations

import pytest

from pytest_promptcheck.outputs.markdown import code, fence, render
from report_records import big_run
from test_report_html import make_project, run_cli


def check_summary(text: str) -> None:
    assert text.startswith("## promptcheck: ❌ gate **REGRESSED** (exit 1)\n")
    assert "- critical case 'c01' [p] in test_pairs.prompts.yaml regressed" in text
    assert "| base | 2 | 4 | 0 | 50.0% | [15.0, 85.0] |" in text
    assert "| tuned | 2 | 4 | 0 | 50.0% | [15.0, 85.0] |" in text
    assert "### Changed cases: 1 regressions, 1 improvements" in text
    regression = text.index("**❌ regression**: `test_pairs.prompts.yaml::c01 [p]` — tags: `critical`")
    improvement = text.index("**✅ improvement**: `test_pairs.prompts.yaml::c02 [p]`")
    assert regression < improvement  # regressions first
    assert "`base` (passed):\n\n```text\nok the refund is approved\n```" in text
    assert "`tuned` (failed):\n\n```text\nthe refund is denied\n```" in text
    assert "c00" not in text and "alert" not in text  # unchanged cases and known gaps are left out


def test_pc_report_md_at_the_end_of_a_run(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = pytester.runpytest("--pc-gate", "--pc-report", "md:out/summary.md")
    assert result.ret == 1
    check_summary((pytester.path / "out" / "summary.md").read_text(encoding="utf-8"))


def test_report_subcommand_md(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester)
    pytester.runpytest("--pc-gate")
    out = pytester.path / "pr.md"
    assert run_cli(pytester, "report", "latest", "--md", str(out)) == 0
    assert f"Markdown summary: {out}" in capsys.readouterr().out
    check_summary(out.read_text(encoding="utf-8"))


def test_long_summary_is_capped_with_a_more_line() -> None:
    summary, records = big_run(2500)
    text = render(summary, records)
    assert len(text) <= 60_000
    listed = text.count("**❌ regression**") + text.count("**✅ improvement**")
    changed = summary.comparison.stats.counts.b + summary.comparison.stats.counts.c if summary.comparison else 0
    assert 0 < listed < changed
    assert text.rstrip().endswith(f"… {changed - listed} more changed cases (see the HTML report or the JSON summary).")
    small = render(summary, records, limit=3_000)
    assert len(small) <= 3_000 and "more changed cases" in small


def test_fences_and_code_survive_backticks() -> None:
    block = fence("a ```python\nx``` b")
    assert block.startswith("````text\n") and block.endswith("\n````")
    assert code("a`b") == "``a`b``"
    assert fence("x" * 700, limit=600).count("x") == 601  # 600 kept, and the "text" info string
    assert "… [100 more characters]" in fence("y" * 700, limit=600)


def test_run_without_comparison(project: object, pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".prompts.yaml",
        test_one='prompts: {p: "{{ r }}"}\ncases:\n  - {id: a, vars: {r: hi}, assert: [{equals: hi}]}\n',
    )
    pytester.runpytest("--pc-report", "md:one.md")
    text = (pytester.path / "one.md").read_text(encoding="utf-8")
    assert "No baseline/candidate comparison in this run." in text
    assert "| echo | 1 | 1 | 0 | 100.0% |" in text
