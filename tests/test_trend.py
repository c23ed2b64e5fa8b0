"""`promptcheck runs --trend` and the HTML report's trend charts, over three real runs (checked in Chromium)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from pair_project import PAIR_APP, setup_pair_project
from pytest_promptcheck.cli.main import main
from pytest_promptcheck.outputs.trend_svg import trend_section
from pytest_promptcheck.runs.trend import TrendFilter, labelled, run_points
from report_records import big_run
from test_report_html import browse

# Base passes 7 of 8 pair cases, tuned 7 of 8 (one regression, one improvement): the gate passes.
PAIRS = [(True, True)] * 5 + [(False, True), (True, False), (True, True)]
# A counterfactual case whose value decides the verdict: a 100-point bias gap for both models.
NAMES = """\
prompts: {p: "{{ name }}|{{ name }}"}
cases:
  - id: greet
    counterfactual: {name: [ok, bad]}
    assert: [{equals: ok}]
"""


def three_runs(pytester: pytest.Pytester, *, report: str = "") -> Path:
    """Run 1 gated, run 2 with repeats (not enforced), run 3 gated with tuned serving a broken function."""
    setup_pair_project(pytester, PAIRS)
    pytester.makepyfile(pairapp=PAIR_APP + "\n\ndef bad(messages, params):\n    return 'bad'\n")
    pytester.makefile(".prompts.yaml", test_names=NAMES)
    extra = ["--pc-report", f"html:{report}"] if report else []
    assert pytester.runpytest("-p", "no:randomly", "--pc-gate").ret == 0  # the gate passes: it decides the status
    pytester.runpytest("-p", "no:randomly", "--pc-repeat", "2", "--pc-no-cache")
    pytester.runpytest("-p", "no:randomly", "--pc-gate", "--pc-model", "tuned=python:pairapp:bad", *extra)
    return pytester.path / ".promptcheck" / "runs"


def trend(runs: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    capsys.readouterr()
    status = main(["--runs", str(runs), "runs", "--trend", *args])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def test_runs_trend(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    runs = three_runs(pytester)
    status, lines, _ = trend(runs, capsys)
    print("\n".join(lines))
    assert status == 0
    heads = [line for line in lines if not line.startswith("  ")]
    assert heads == ["base", "tuned @ pairapp:tuned", "tuned @ pairapp:bad"]  # one name, two things served
    assert len(lines) == 3 + 3 + 2 + 1
    first, second, third = sorted(p.name for p in runs.iterdir())
    assert re.fullmatch(
        rf"  {first}  \S+ \S+  7/9  77\.8% \[45\.3, 93\.7\]  stable –  bias gap 100\.0 pts  prompt 5 tokens/call  baseline",
        lines[1],
    )
    assert lines[2].startswith(f"  {second}") and "stable 100% (9 items)" in lines[2]
    assert lines[5].startswith(f"  {first}") and lines[5].endswith("gate pass (enforced)")
    assert lines[6].startswith(f"  {second}") and lines[6].endswith("gate pass (not enforced)")
    assert lines[8].startswith(f"  {third}") and " 0/9  0.0% [0.0, 29.9]" in lines[8]
    assert lines[8].endswith("gate regressed (enforced)")


def test_runs_trend_filters(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    runs = three_runs(pytester)
    status, lines, _ = trend(runs, capsys, "--suite", "test_pairs.prompts.yaml", "--model", "tuned*")
    assert status == 0
    assert [line for line in lines if not line.startswith("  ")] == ["tuned @ pairapp:tuned", "tuned @ pairapp:bad"]
    assert all("bias gap –" in line for line in lines if line.startswith("  "))  # the counterfactual suite is out
    assert " 7/8  87.5%" in lines[1]
    status, lines, err = trend(runs, capsys, "--model", "nobody")
    assert status == 1 and not lines
    assert "match --model nobody; `promptcheck runs` lists what ran" in err
    capsys.readouterr()
    assert main(["--runs", str(runs), "runs", "--model", "base"]) == 2
    assert "--suite and --model filter --trend; add --trend" in capsys.readouterr().err
    status, lines, _ = trend(runs, capsys, "--model", "tuned @ pairapp:bad", "--limit", "1")
    assert status == 0 and lines[0] == "tuned" and len(lines) == 2  # the one series shown needs no checkpoint
    # An interrupted run is left out: its pass rate covers only what happened to run.
    second = sorted(runs.iterdir())[1] / "manifest.json"
    second.write_text(second.read_text(encoding="utf-8").replace('"status": "complete"', '"status": "interrupted"'))
    status, lines, _ = trend(runs, capsys, "--model", "base")
    assert status == 0 and len(lines) == 1 + 2 and second.parent.name not in "".join(lines)


def test_a_checkpoint_is_its_content_not_its_path() -> None:
    """The same folder holding other weights (its hash changed) is a new series, labelled with its short hash."""
    _, records = big_run(3)  # models base and tuned
    entry = {"provider": "transformers", "path": ".promptcheck/checkpoints/tuned-next"}
    points = []
    for run_id, digest in (("20261201T100000.000Z-aaaaaa", "1" * 64), ("20261201T110000.000Z-bbbbbb", "2" * 64)):
        manifest = {"started": run_id, "models": {m: {**entry, "checkpoint_sha256": digest} for m in ("base", "tuned")}}
        points += run_points(run_id, manifest, records, TrendFilter())
    assert run_points("x", {}, records, TrendFilter(suites=("other.prompts.yaml",))) == []
    shown = labelled(points)
    assert {p.label for p in shown if p.model == "tuned"} == {
        "tuned @ tuned-next#11111111",
        "tuned @ tuned-next#22222222",
    }
    assert [p.run_id for p in shown] == sorted(p.run_id for p in shown)  # oldest first


def test_trend_text_is_escaped() -> None:
    """A checkpoint name from a lineage file is text in the chart, never markup."""
    _, records = big_run(2)
    hostile = {"training": {"lineage": {"checkpoint": "<img src=x onerror=alert(1)>"}}, "path": "m"}
    points = []
    for run_id, digest in (("20261201T100000.000Z-aaaaaa", "1" * 64), ("20261201T110000.000Z-bbbbbb", "2" * 64)):
        points += run_points(run_id, {"models": {"tuned": {**hostile, "checkpoint_sha256": digest}}}, records)
    page = trend_section(labelled(points))
    assert "Trend across 2 runs" in page and "<img" not in page and "&lt;img src=x" in page


def test_html_trend_in_headless_chromium(pytester: pytest.Pytester, tmp_path: Path) -> None:
    runs = three_runs(pytester, report="out/run3.html")
    page = pytester.path / "out" / "run3.html"
    html = page.read_text(encoding="utf-8")
    assert '<section id="trend"><h2>Trend across 3 runs</h2>' in html
    # A gated candidate's ring in each chart it has a value in (consistency: only run 2 repeated).
    rings = re.findall(r'<circle class="gate (\w+)"', html)
    assert sorted(rings) == ["pass"] * 5 + ["regressed"] * 2
    done = browse(page.as_uri(), tmp_path / "profile", "--dump-dom")
    body = re.search(r"<body[^>]*>", done.stdout)
    assert body is not None and 'data-ready="1"' in body.group() and "data-error" not in body.group(), done.stderr[
        -2000:
    ]
    assert 'data-trend-points="6"' in body.group()  # 3 runs × base + tuned, drawn by the browser
    screenshot = pytester.path / "trend.png"
    browse(page.as_uri(), tmp_path / "profile", f"--screenshot={screenshot}")
    assert screenshot.stat().st_size > 10_000
    print(f"trend screenshot: {screenshot}")
    artifacts = os.environ.get("PROMPTCHECK_ARTIFACTS")
    if artifacts:  # CI keeps it with the report's screenshot
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(artifacts) / "html-trend.png")
    # `promptcheck report` draws the same history up to the run it reports
    first = sorted(p.name for p in runs.iterdir())[1]
    out = pytester.path / "cli.html"
    assert main(["--runs", str(runs), "report", first, "--html", str(out)]) == 0
    assert "Trend across 2 runs" in out.read_text(encoding="utf-8")
