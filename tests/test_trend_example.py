"""The trend of three runs of the example suite with its real checkpoints: printed, and charted in Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pytest_promptcheck.cli.main import main
from test_report_html import browse

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

EXAMPLE = Path(__file__).resolve().parent.parent / "example_suite"


def test_three_example_runs_trend(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """base → tuned gated, then the peft adapter as candidate, then tuned again (from the cache): three runs."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shutil.copytree(
        EXAMPLE, pytester.path / "example_suite", ignore=shutil.ignore_patterns(".promptcheck", "__pycache__")
    )
    lora = "tuned=hf:example_suite/models/tuned-lora"
    for args in (["--pc-gate"], ["--pc-gate", "--pc-model", lora], ["--pc-gate", "--pc-report", "html:trend.html"]):
        pytester.runpytest_subprocess("example_suite", "-p", "no:randomly", *args)
    runs = pytester.path / "example_suite" / ".promptcheck" / "runs"
    capsys.readouterr()
    assert main(["--runs", str(runs), "runs", "--trend"]) == 0
    lines = capsys.readouterr().out.splitlines()
    print("\n".join(lines))
    heads = [line for line in lines if not line.startswith("  ")]
    assert heads[0] == "base" and len(heads) == 3
    assert re.fullmatch(r"tuned @ tuned#[0-9a-f]{8}", heads[1]) and re.fullmatch(
        r"tuned @ tuned-lora#[0-9a-f]{8}", heads[2]
    )
    assert len(lines) == 3 + 3 + 2 + 1  # base in every run; tuned in runs 1 and 3; the adapter in run 2
    assert all(re.search(r"  \d+/22  [\d.]+% \[[\d.]+, [\d.]+\]  stable ", line) for line in lines if line[:2] == "  ")
    assert all(" gate " in line for line in lines[4:] if line[:2] == "  ")  # every candidate point has a verdict
    page = (pytester.path / "trend.html").as_uri()
    done = browse(page, tmp_path / "profile", "--dump-dom")
    body = re.search(r"<body[^>]*>", done.stdout)
    assert body is not None and 'data-ready="1"' in body.group(), done.stderr[-2000:]
    assert 'data-trend-points="6"' in body.group()  # base × 3, tuned × 2, adapter × 1
    screenshot = pytester.path / "example-trend.png"
    browse(page, tmp_path / "profile", f"--screenshot={screenshot}")
    assert screenshot.stat().st_size > 10_000
    print(f"trend screenshot: {screenshot}")
