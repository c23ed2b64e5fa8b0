"""`promptcheck import-feedback`: rows become cases; any bad row means nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_promptcheck.cli.feedback import feedback_id
from pytest_promptcheck.cli.main import main
from pytest_promptcheck.suites.load import load_suite

SUITE = """\
# feedback lands here
prompts:
  p: "Reply to {{ ticket }}"
cases:
  - id: existing   # keep me
    vars: { ticket: "hi" }
"""


def write_rows(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "test_fb.prompts.yaml"
    path.write_text(SUITE)
    return path


def test_rows_become_cases(tmp_path: Path, suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"vars": {"ticket": "refund"}, "output": "no", "correction": "Refund issued.", "tags": ["billing"]},
        {"id": "rude", "vars": {"ticket": "hello"}, "output": "Go away", "rating": 1},
    ]
    assert main(["import-feedback", str(write_rows(tmp_path / "fb.jsonl", rows)), "--into", str(suite)]) == 0
    assert "added 2 case(s)" in capsys.readouterr().out
    assert suite.read_text().startswith(SUITE)
    cases = {c.id: c for c in load_suite(suite).suite.cases}
    corrected = cases[feedback_id({"ticket": "refund"})]
    assert corrected.id.startswith("fb-") and len(corrected.id) == 11
    assert (corrected.ideal, corrected.tags) == ("Refund issued.", ("billing",))
    assert [a.name for a in corrected.assertions] == ["fuzzy"]
    rude = cases["rude"]
    assert [(a.name, a.arg) for a in rude.assertions] == [("not_equals", "Go away")] or rude.assertions[0].negate


def test_bad_rows_are_reported_by_number_and_nothing_is_written(
    tmp_path: Path, suite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows: list[object] = [
        {"vars": {"ticket": "ok"}, "output": "fine"},
        "{not json",
        {"vars": "text", "output": "x"},
        {"vars": {"ticket": "a"}},
        {"vars": {"ticket": "b"}, "output": "x", "colour": "red"},
        {"id": "existing", "vars": {"ticket": "c"}, "output": "x"},
        {"vars": {"ticket": "ok"}, "output": "again"},
    ]
    feedback = write_rows(tmp_path / "fb.jsonl", rows)
    assert main(["import-feedback", str(feedback), "--into", str(suite)]) == 1
    err = capsys.readouterr().err
    for number, words in [(2, "JSON"), (3, "vars"), (4, "output"), (5, "colour"), (6, "existing"), (7, "row 1")]:
        assert f"fb.jsonl:{number}: " in err and words in err, (number, err)
    assert "fb.jsonl:1:" not in err
    assert "6 bad row(s); nothing written" in err
    assert suite.read_text() == SUITE


def test_missing_files(tmp_path: Path, suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-feedback", str(tmp_path / "none.jsonl"), "--into", str(suite)]) == 1
    assert "no such file" in capsys.readouterr().err
    feedback = write_rows(tmp_path / "fb.jsonl", [{"vars": {"ticket": "x"}, "output": "y"}])
    assert main(["import-feedback", str(feedback), "--into", str(tmp_path / "nope.prompts.yaml")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_thousands_of_rows_quietly(tmp_path: Path, suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"vars": {"ticket": f"t{i}"}, "output": f"bad {i}"} for i in range(2000)]
    assert main(["import-feedback", str(write_rows(tmp_path / "fb.jsonl", rows)), "--into", str(suite)]) == 0
    out, err = capsys.readouterr()
    assert "added 2000 case(s)" in out and err == ""  # no progress counter when not a terminal
    assert len(load_suite(suite).suite.cases) == 2001
