"""`promptcheck analyze RUN` and `promptcheck plan RUN` on a recorded run (latest, a run id, a run folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from analysis_project import setup_analysis_project
from pytest_promptcheck.cli.main import main


def run_cli(pytester: pytest.Pytester, *args: str) -> int:
    old = Path.cwd()
    os.chdir(pytester.path)
    try:
        return main(list(args))
    finally:
        os.chdir(old)


@pytest.fixture
def recorded(pytester: pytest.Pytester) -> Path:
    """The analysis project run once with --pc-record; its run folder."""
    setup_analysis_project(pytester)
    pytester.runpytest("--pc-record").assert_outcomes(passed=6, failed=6)
    (folder,) = (pytester.path / ".promptcheck" / "runs").iterdir()
    return folder


def test_analyze_prints_weaknesses_with_numbers(
    pytester: pytest.Pytester, recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every weakness by kind, its assertion detail and hint, examples with both outputs, the regressions."""
    assert run_cli(pytester, "analyze", "latest") == 0
    out = capsys.readouterr().out
    assert out.startswith("failure analysis: 6 failing items in 5 cases (base, tuned); 3 regressions on the candidate")
    lines = out.splitlines()
    assert "by side:" in lines and "by tag:" in lines and "by assertion:" in lines
    assert any(line.split() == ["tag", "account", "2", "2", "2", "2", "0", "0"] for line in lines)
    assert "    on $.category: expected 'account'" in lines
    assert "    got instead: 'technical' ×3" in lines
    assert '      tuned: failed \'{"category": "technical"}\'' in lines
    assert out.index("regressions on the candidate (pass on base, fail on tuned):") > out.index("by assertion:")


def test_plan_prints_the_plan_traps_and_shares(
    pytester: pytest.Pytester, recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The export it implies, one row per weakness with cases to detect a gain, the trap, representativeness."""
    assert run_cli(pytester, "plan", str(recorded)) == 0  # a run folder works like `latest`
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "export (side candidate, target ideal, no split): 2 training rows from 2 cases; 1 need a label"
    assert lines[1] == "  1 more rows with --pc-export-target passing (another model passed them)"
    assert any(line.split() == ["tag", "account", "2", "2", "0", "0", "2", "2", "0", "153", "no"] for line in lines)
    assert any(line.split() == ["tag", "billing", "1", "0", "0", "1", "0", "2", "2", "29", "no"] for line in lines)
    assert any(line.startswith("  memorisation trap: tag account: all 2 failing cases") for line in lines)
    assert "representativeness (suite 6 cases, export 2 rows, no feedback summary; reference: suite;" in out
    assert any(line.split() == ["tag", "account", "33%", "(2)", "100%", "(2)", "-", "3.00", "FLAG"] for line in lines)


def test_plan_options_and_json(pytester: pytest.Pytester, recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--target and --split change the plan; --json prints it for machines."""
    assert run_cli(pytester, "plan", recorded.name[:12], "--json", "--target", "ideal-or-passing") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plan"]["export"]["rows"] == 3
    assert "tag password" in data["plan"]["traps"]  # its only failing case is now trained on
    assert run_cli(pytester, "plan", "latest", "--json", "--split", "0.5") == 0
    assert json.loads(capsys.readouterr().out)["plan"]["traps"] == []
    assert run_cli(pytester, "plan", "latest", "--split", "0.9") == 0  # 2 rows: round(0.1 × 2) = 0 to validation
    assert (
        "  memorisation trap: tag account: all 2 failing cases would be training data even with the split 0.9 "
        "(whole cases drawn with seed 0: 0 failing cases held out), so the gate cannot see a gain; add cases first "
        "(promptcheck add)"
    ) in capsys.readouterr().out.splitlines()
    assert run_cli(pytester, "analyze", "latest", "--json") == 0
    failures = json.loads(capsys.readouterr().out)
    assert [r["case"] for r in failures["regressions"]] == ["login-1", "login-2", "login-3"]


def test_bad_run_and_bad_split(pytester: pytest.Pytester, recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown run and a split outside (0, 1] are one-line errors, exit 1."""
    assert run_cli(pytester, "analyze", "nosuchrun") == 1
    assert "promptcheck analyze:" in capsys.readouterr().err
    assert run_cli(pytester, "plan", "latest", "--split", "1.5") == 1
    assert "--split is the train share, between 0 and 1 (got 1.5)" in capsys.readouterr().err


def test_report_subcommand_carries_the_analysis(pytester: pytest.Pytester, recorded: Path) -> None:
    """`promptcheck report RUN --md` rebuilds the analysis from the run folder, like the end of the run."""
    out = pytester.path / "pr.md"
    assert run_cli(pytester, "report", "latest", "--md", str(out)) == 0
    text = out.read_text(encoding="utf-8")
    assert "### Failure analysis: 6 failing items in 5 cases" in text
    assert "| tag account | 2 | 2 | 0 | 0 | 2 | 2 | 0 | 153 | no | ⚠️ memorisation |" in text
    assert "| area=refund | 33% (2) | 0% (0) | – | ⚠️ |" in text  # the chosen var came back from the record
