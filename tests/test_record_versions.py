"""Run folders written by earlier versions still open; a newer record version gets one clear message.

``data/runs_v1`` was written by pytest-promptcheck before the typed record (commit 948fdaa): 3 cases
on base and tuned, base fails `invoice`, tuned fails `login` (a `critical` case).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_promptcheck.cli.main import main
from pytest_promptcheck.runs.record import RECORD_VERSION, read_records

RUNS_V1 = Path(__file__).parent / "data" / "runs_v1"


def test_first_version_records_read_as_typed_records() -> None:
    """Every line of the old results.jsonl becomes a typed call of its item, reasons and messages included."""
    (results,) = RUNS_V1.glob("*/results.jsonl")
    records = {(r.model, r.case): r for r in read_records(results)}
    assert len(records) == 6
    login = records[("tuned", "login")]
    assert (login.outcome, login.side, login.tags, login.ideal) == ("failed", "candidate", ("critical",), "other")
    (call,) = login.calls
    assert call.output == "account" and call.passed is False
    assert call.assertions[0].name == "equals 'other'" and not call.assertions[0].passed
    assert call.messages[-1]["content"] == "Category of: cannot log in"


def test_cli_reads_a_first_version_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """runs, report and export work on a run folder the previous version wrote."""
    assert main(["--runs", str(RUNS_V1), "runs"]) == 0
    assert "base 2/3 (67%), tuned 2/3 (67%)" in capsys.readouterr().out
    assert main(["--runs", str(RUNS_V1), "report", "latest", "--md", str(tmp_path / "r.md")]) == 0
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "1 regressions, 1 improvements" in markdown
    assert main(["--runs", str(RUNS_V1), "export", "latest", "-o", str(tmp_path / "e.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows == [{"messages": [{"role": "user", "content": "Category of: cannot log in"},
                                  {"role": "assistant", "content": "other"}]}]  # fmt: skip


def test_a_newer_record_version_is_one_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A record from a newer pytest-promptcheck names its version and says to upgrade; no traceback."""
    runs = tmp_path / "runs"
    shutil.copytree(RUNS_V1, runs)
    (results,) = runs.glob("*/results.jsonl")
    lines = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    results.write_text("".join(json.dumps({**line, "version": RECORD_VERSION + 1}) + "\n" for line in lines))
    for args in (
        ["report", "latest", "--md", str(tmp_path / "r.md")],
        ["export", "latest"],
        ["diff", "latest", "latest"],
    ):
        assert main(["--runs", str(runs), *args]) == 1
        err = capsys.readouterr().err
        assert f"has version {RECORD_VERSION + 1}, written by a newer pytest-promptcheck" in err, err
        assert "upgrade pytest-promptcheck" in err
    assert main(["--runs", str(runs), "runs"]) == 0
    assert "(unreadable results: record of" in capsys.readouterr().out
