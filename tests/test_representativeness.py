"""Representativeness: tag and chosen-var shares of the export against the feedback (or the suite).

`import-feedback` keeps a summary of every row it read in `.promptcheck/feedback/`, kept or not; the
reports and `promptcheck plan` compare the export's shares with it and flag a group whose share
differs by more than `share_factor`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analysis_project import setup_analysis_project
from pytest_promptcheck.cli.main import main

INBOX = 'prompts: {p: "{{ ticket }}"}\ncases:\n  - {id: first, vars: {ticket: hi}}\n'


def shares(pytester: pytest.Pytester) -> dict[str, Any]:
    pytester.runpytest("--pc-report", "json:out.json").assert_outcomes(passed=6, failed=6)
    data = json.loads((pytester.path / "out.json").read_text(encoding="utf-8"))
    found: dict[str, Any] = data["analysis"]["representativeness"]
    return found


def flags(rep: dict[str, Any]) -> dict[str, bool]:
    return {f"{s['group']}={s['value']}": s["flagged"] for s in rep["shares"]}


def write_rows(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def row(ticket: str, area: str, tag: str, **extra: Any) -> dict[str, Any]:
    return {"vars": {"ticket": ticket, "area": area}, "output": "x", "tags": [tag], **extra}


def test_export_against_the_suite(pytester: pytest.Pytester) -> None:
    """Without feedback the suite is the reference; the factor is configurable."""
    setup_analysis_project(pytester)
    rep = shares(pytester)
    assert (rep["reference"], rep["suite_cases"], rep["export_rows"], rep["feedback_rows"]) == ("suite", 6, 2, None)
    account = next(s for s in rep["shares"] if (s["group"], s["value"]) == ("tag", "account"))
    assert (account["suite_share"], account["export_share"], account["ratio"]) == (pytest.approx(1 / 3), 1.0, 3.0)
    assert flags(rep) == {
        "tag=account": True,  # 100% of the export, 33% of the suite: 3× > 2×
        "tag=billing": True,  # fails on the candidate, absent from the export (needs a label)
        "tag=password": True,  # fails on the candidate, its row has no ideal
        "tag=shipping": False,  # fails on the baseline only: not the export's business
        "area=login": False,  # 100% vs 50%: exactly 2×, not more
        "area=refund": True,
        "area=ship": False,
    }
    setup_analysis_project(pytester, 'vars = ["area"]\nshare_factor = 3.5')
    assert flags(shares(pytester))["tag=account"] is False


def test_import_feedback_keeps_a_summary_of_every_row(pytester: pytest.Pytester) -> None:
    """Bad rows abort the import but are counted with why; a good import counts what it kept."""
    setup_analysis_project(pytester)
    inbox = pytester.path / "inbox.prompts.yaml"
    inbox.write_text(INBOX, encoding="utf-8")
    rows: list[object] = [
        row("a", "login", "account"),
        row("b", "refund", "billing"),
        "{not json",
        row("c", "refund", "billing", colour="red"),
        row("d", "refund", "billing", id="dup"),
        row("e", "refund", "billing", id="dup"),
    ]
    assert main(["import-feedback", str(write_rows(pytester.path / "fb.jsonl", rows)), "--into", str(inbox)]) == 1
    assert inbox.read_text(encoding="utf-8") == INBOX  # nothing written to the suite
    summary = json.loads((pytester.path / ".promptcheck" / "feedback" / "fb.summary.json").read_text(encoding="utf-8"))
    assert (summary["rows_read"], summary["kept"], summary["counted"], summary["written"]) == (6, 0, 5, False)
    assert summary["skipped"] == {"duplicate id": 1, "not valid JSON": 1, "unknown field": 1}
    assert summary["tags"] == {"account": 1, "billing": 4}
    assert summary["vars"] == {"area": {"login": 1, "refund": 4}}
    good = [row("a", "login", "account"), *(row(t, "refund", "billing") for t in "bcde")]
    assert main(["import-feedback", str(write_rows(pytester.path / "fb.jsonl", good)), "--into", str(inbox)]) == 0
    summary = json.loads((pytester.path / ".promptcheck" / "feedback" / "fb.summary.json").read_text(encoding="utf-8"))
    assert (summary["rows_read"], summary["kept"], summary["skipped"], summary["written"]) == (5, 5, {}, True)


def test_export_against_feedback(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    """With a feedback summary, the feedback is the reference: account is 20% of it and 100% of the export."""
    setup_analysis_project(pytester)
    inbox = pytester.path / "inbox.prompts.yaml"
    inbox.write_text(INBOX, encoding="utf-8")
    good = [row("a", "login", "account"), *(row(t, "refund", "billing") for t in "bcde")]
    assert main(["import-feedback", str(write_rows(pytester.path / "fb.jsonl", good)), "--into", str(inbox)]) == 0
    rep = shares(pytester)
    assert (rep["reference"], rep["feedback_rows"]) == ("feedback", 5)
    account = next(s for s in rep["shares"] if (s["group"], s["value"]) == ("tag", "account"))
    assert (account["feedback"], account["feedback_share"], account["ratio"]) == (1, 0.2, 5.0)
    assert flags(rep)["tag=account"] and flags(rep)["area=login"]  # 100% vs 20% each
    capsys.readouterr()
    assert main(["plan", "latest"]) == 0
    out = capsys.readouterr().out
    assert "export 2 rows, feedback 5 rows; reference: feedback; flagged beyond 2×" in out
    assert any(line.split() == ["tag", "account", "33%", "(2)", "100%", "(2)", "20%", "(1)", "5.00", "FLAG"]
               for line in out.splitlines())  # fmt: skip
