"""Judge calls are calls: the dry run lists and prices them, the summary's cost table has their line,
the record holds them and the manifest identifies the grader (issue 13, finding 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

GRADER = """
def echo(messages, params):
    return messages[-1]["content"]


def grade(messages, params):
    return {"output": '{"score": 1, "reason": "fine"}', "usage": {"input_tokens": 1000, "output_tokens": 100}}
"""

SUITE = """
prompts:
  p: "{{ reply }}"
cases:
  - id: a
    vars: { reply: "Thanks, please wait." }
    assert: [ { judge: "The reply is polite" } ]
  - id: b
    vars: { reply: "Please hold." }
    repeat: 2
    assert: [ { judge: "The reply is polite" } ]
"""


def _project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=GRADER)
    pytester.makepyprojecttoml("""
        [tool.promptcheck]
        models = ["echo"]
        judge = "grader"
        cache = "off"

        [tool.promptcheck.model.echo]
        provider = "python"
        function = "app:echo"

        [tool.promptcheck.model.grader]
        provider = "python"
        function = "app:grade"
        price = { input_per_mtok = 10.0, output_per_mtok = 20.0 }
    """)  # fmt: skip
    pytester.makefile(".prompts.yaml", test_judged=SUITE)


def test_dry_run_lists_and_prices_the_grader_calls(pytester: pytest.Pytester) -> None:
    """A priced judge's planned calls get their own dry-run line and count in the total."""
    _project(pytester)
    result = pytester.runpytest("--pc-dry-run")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines([
        "  echo: 3 calls, *no price configured",
        "  judge grader: 3 calls (at least one per judged call), ~* input + <=768 output tokens, est. $0.*",
        "dry run: 6 calls would be made, est. $0.* in all; nothing was called",
    ])  # fmt: skip


def test_dry_run_under_xdist_lists_the_calls_once(pytester: pytest.Pytester) -> None:
    """With -n 2 the controller lists the calls (the workers' records carry them), once."""
    _project(pytester)
    pytester.makefile(".prompts.yaml", test_other=SUITE.replace("id: a", "id: c").replace("id: b", "id: d"))
    result = pytester.runpytest("--pc-dry-run", "-n", "2")
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines(["  echo: 6 calls, *", "  judge grader: 6 calls *"])
    assert result.stdout.str().count("calls would be made") == 1


def test_grader_calls_in_the_cost_table_record_and_manifest(pytester: pytest.Pytester) -> None:
    """A real run counts the 3 grader calls: their cost line, the record's judge_calls, the manifest's grader."""
    _project(pytester)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    # 3 calls x (1000 x $10 + 100 x $20) / 1e6 = $0.036
    result.stdout.fnmatch_lines(["judge grader *3 *- *- *- *3000 *300 *$0.0360", "*(3 calls + 3 judge calls)*"])
    run = next((pytester.path / ".promptcheck" / "runs").iterdir())
    lines = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    judged = [j for line in lines for j in line["judge_calls"]]
    assert [(j["model"], j["usage"]["input_tokens"], j["cost"]) for j in judged] == [("grader", 1000, 0.012)] * 3
    assert "<output>\nPlease hold.\n</output>" in judged[-1]["messages"][-1]["content"]
    grader = json.loads((run / "manifest.json").read_text())["models"]["grader"]
    assert grader["used"] is True and grader["judge"] is True and grader["function_identity"]
    assert json.loads((run / "manifest.json").read_text())["counts"]["judge_calls"] == 3


def test_records_without_judge_calls_read_as_before(tmp_path: Path) -> None:
    """A version-1 line written before judge_calls existed reads with none."""
    from pytest_promptcheck.runs.record import CallRecord

    assert CallRecord.from_json({"sample": 0, "messages": [], "output": "x"}).judge_calls == ()
