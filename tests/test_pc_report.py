"""--pc-report json:PATH and junitxml properties carry the same summary as the terminal."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from pair_project import setup_pair_project

PAIRS = [*[(True, True)] * 6, (True, False), (False, True), (False, False)]


def test_json_report_has_metrics_comparison_and_gate(pytester: pytest.Pytester) -> None:
    """The JSON holds per-model metrics, the paired counts and interval, each regression's outputs, the verdict."""
    setup_pair_project(pytester, PAIRS, tags={6: "critical"})
    result = pytester.runpytest("--pc-gate", "--pc-report", "json:out/summary.json")
    assert result.ret == 1
    data = json.loads((pytester.path / "out" / "summary.json").read_text())
    assert data["exit_status"] == 1
    tuned = data["models"]["tuned"]["accuracy"]
    assert (tuned["rate"]["passed"], tuned["rate"]["judged"], tuned["errors"]) == (7, 9, 0)
    assert tuned["rate"]["interval"][0] == pytest.approx(0.4526, abs=1e-4)
    assert data["models"]["base"]["latency"]["p50_ms"] == 10.0
    assert data["by_variant"]["p"]["base"]["rate"] == pytest.approx(7 / 9)
    comparison = data["comparison"]
    assert (comparison["a"], comparison["b"], comparison["c"], comparison["d"]) == (6, 1, 1, 1)
    assert comparison["interval_confidence"] == pytest.approx(0.9)
    assert comparison["interval"][0] < 0 < comparison["interval"][1]
    regression = comparison["regressions"][0]
    assert regression["case"] == "c06" and regression["tags"] == ["critical"]
    assert (regression["baseline"]["outputs"], regression["candidate"]["outputs"]) == (["ok"], ["bad"])
    assert [g["case"] for g in comparison["known_gaps"]] == ["c08"]
    assert data["gate"]["verdict"] == "regressed" and data["gate"]["enforced"] is True
    assert data["gate"]["alpha"] == 0.05 and data["gate"]["margin"] == 0.0
    assert "critical case 'c06'" in data["gate"]["reasons"][0]


def test_junitxml_gets_summary_properties(pytester: pytest.Pytester) -> None:
    """--junitxml gets pass rates, the delta, the p-value, regressions and the verdict as properties."""
    setup_pair_project(pytester, PAIRS)
    pytester.runpytest("--pc-gate", "--junitxml", "junit.xml")
    root = ET.parse(pytester.path / "junit.xml").getroot()
    props = {
        p.get("name"): p.get("value") for p in root.iter("property") if p.get("name", "").startswith("promptcheck.")
    }
    assert props["promptcheck.pass_rate.base"].startswith("7/9 [")
    assert props["promptcheck.regressions"] == "1"
    assert props["promptcheck.regression"] == "test_pairs.prompts.yaml::c06[tuned]"
    assert props["promptcheck.gate"] == "pass (exit 0)"
    assert props["promptcheck.p_value"] == "0.75"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yaml:x.yaml", "*unknown format 'yaml'; available: json*"),
        ("summary.json", "*expected FORMAT:PATH, e.g. --pc-report json:promptcheck.json*"),
    ],
)
def test_bad_report_option_is_a_usage_error(pytester: pytest.Pytester, value: str, message: str) -> None:
    """A wrong --pc-report stops at startup, before any model call."""
    setup_pair_project(pytester, PAIRS)
    result = pytester.runpytest("--pc-report", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
