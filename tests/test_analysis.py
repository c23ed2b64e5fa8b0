"""Failure analysis and the data plan at the end of a run: weaknesses, plan counts, the memorisation trap.

The project (``analysis_project``) has six cases whose two sides' outputs are written in the suite,
so every count below is known in advance (the table in that module's docstring).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from analysis_project import setup_analysis_project

ACCOUNT = "json_path {'path': '$.category', 'equals': 'account'}"
BILLING = "json_path {'path': '$.category', 'equals': 'billing'}"


def report(pytester: pytest.Pytester, *args: str) -> dict[str, Any]:
    result = pytester.runpytest("--pc-report", "json:out.json", *args)
    result.assert_outcomes(passed=6, failed=6)
    data = json.loads((pytester.path / "out.json").read_text(encoding="utf-8"))
    analysis: dict[str, Any] = data["analysis"]
    return analysis


def weakness(analysis: dict[str, Any], kind: str, key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(w for w in analysis["failures"]["weaknesses"] if (w["kind"], w["key"]) == (kind, key))
    return found


def planned(analysis: dict[str, Any], kind: str, key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(w for w in analysis["plan"]["weaknesses"] if (w["kind"], w["key"]) == (kind, key))
    return found


def test_failures_are_grouped_by_side_tag_assertion(pytester: pytest.Pytester) -> None:
    """Sides (candidate only / both / baseline only), tags and assertions with path, expected and got."""
    setup_analysis_project(pytester)
    failures = report(pytester)["failures"]
    assert (failures["failing_items"], failures["failing_cases"], failures["failing_calls"]) == (6, 5, 6)
    sides = {w["key"]: (w["cases"], w["items"]) for w in failures["weaknesses"] if w["kind"] == "side"}
    assert sides == {"candidate only": (3, 3), "both": (1, 2), "baseline only": (1, 1)}
    tags = {w["key"]: (w["cases"], w["items"], w["sides"]) for w in failures["weaknesses"] if w["kind"] == "tag"}
    assert tags == {
        "account": (2, 2, {"candidate only": 2}),
        "billing": (1, 2, {"both": 1}),
        "password": (1, 1, {"candidate only": 1}),
        "shipping": (1, 1, {"baseline only": 1}),
    }
    account = weakness({"failures": failures}, "assertion", ACCOUNT)
    assert (account["cases"], account["path"], account["expected"], account["got"]) == (
        3, "$.category", "account", {"technical": 3},
    )  # fmt: skip
    assert "look at the training data's labels" in account["hint"]
    assert [e["case"] for e in account["examples"]] == ["login-1", "login-2", "login-3"]
    seen = account["examples"][0]["seen"]
    assert [(s["model"], s["outcome"], s["output"]) for s in seen] == [
        ("base", "passed", '{"category": "account"}'), ("tuned", "failed", '{"category": "technical"}'),
    ]  # fmt: skip
    assert weakness({"failures": failures}, "assertion", BILLING)["got"] == {"shipping": 2}
    assert not any(w["kind"] == "variant" for w in failures["weaknesses"])  # one variant: no variant grouping


def test_regressions_are_set_apart(pytester: pytest.Pytester) -> None:
    """Pass on the baseline, fail on the candidate: listed on their own, with both outputs."""
    setup_analysis_project(pytester)
    regressions = report(pytester)["failures"]["regressions"]
    assert [r["case"] for r in regressions] == ["login-1", "login-2", "login-3"]
    assert [s["outcome"] for s in regressions[0]["seen"]] == ["passed", "failed"]


def test_plan_counts_and_the_memorisation_trap(pytester: pytest.Pytester) -> None:
    """Rows with an ideal, with a passing output elsewhere, needing a label; the trap on `account`."""
    setup_analysis_project(pytester)
    analysis = report(pytester)
    plan = analysis["plan"]
    assert (plan["side"], plan["target"], plan["split"]) == ("candidate", "ideal", None)
    assert plan["export"] == {
        "rows": 2, "cases": 2, "validation": 0, "validation_cases": 0,
        "sources": {"failing": 2, "variant_added": 0, "rehearsal": 0}, "ideal": 2, "passing": 1, "needs_label": 1,
    }  # fmt: skip
    account = planned(analysis, "tag", "account")
    assert (account["failing_cases"], account["ideal_rows"], account["train_rows"], account["suite_cases"]) == (
        2, 2, 2, 2,
    )  # fmt: skip
    assert (account["held_out"], account["memorisation_trap"], account["enough"]) == (0, True, False)
    password = planned(analysis, "tag", "password")
    assert (password["passing_rows"], password["train_rows"], password["memorisation_trap"]) == (1, 0, False)
    billing = planned(analysis, "tag", "billing")
    assert (billing["needs_label"], billing["suite_cases"], billing["held_out"]) == (1, 2, 2)
    assert plan["traps"] == ["tag account"]  # login-3 (no ideal) keeps the candidate-only failures one held-out case


def test_cases_to_detect_a_gain(pytester: pytest.Pytester) -> None:
    """Connor's paired formula, checked by hand, for the configured gain.

    billing: no discordant pair, so ψ = gain. gain 0.2, alpha 0.05, power 0.8:
    [1.6449·√0.2 + 0.8416·√(0.2 − 0.04)]² / 0.04 = (0.7356 + 0.3366)² / 0.04 = 28.74 → 29.
    account: both cases discordant, ψ = 1: [1.6449 + 0.8416·√0.96]² / 0.04 = 152.5 → 153.
    gain 0.1 on billing: [1.6449·√0.1 + 0.8416·√0.09]² / 0.01 = (0.5201 + 0.2525)² / 0.01 = 59.7 → 60.
    """
    setup_analysis_project(pytester)
    analysis = report(pytester)
    assert planned(analysis, "tag", "billing")["cases_to_detect_gain"] == 29
    assert planned(analysis, "tag", "account")["cases_to_detect_gain"] == 153
    assert planned(analysis, "tag", "account")["discordance"] == 1.0
    setup_analysis_project(pytester, 'vars = ["area"]\ngain = 0.1')
    assert planned(report(pytester), "tag", "billing")["cases_to_detect_gain"] == 60


def test_the_plan_follows_the_export_options(pytester: pytest.Pytester) -> None:
    """A split by case holds cases out (no trap); --pc-export-side baseline plans the baseline's failures."""
    setup_analysis_project(pytester)
    analysis = report(pytester, "--pc-export", "out.jsonl", "--pc-export-split", "0.5")
    account = planned(analysis, "tag", "account")
    assert (account["held_out"], account["held_out_failing"], account["memorisation_trap"]) == (1.0, 1.0, False)
    baseline = report(pytester, "--pc-export", "out.jsonl", "--pc-export-side", "baseline")
    assert baseline["plan"]["side"] == "baseline"
    # refund-2 needs a label; ship-1 has no ideal either, but the candidate passed its prompt
    assert (baseline["plan"]["export"]["needs_label"], baseline["plan"]["export"]["passing"]) == (1, 1)
    assert planned(baseline, "tag", "account")["failing_cases"] == 0


def test_terminal_summary_shows_top_weaknesses_and_the_trap(pytester: pytest.Pytester) -> None:
    """A short part of the promptcheck section: the headline, the top weaknesses and the trap."""
    setup_analysis_project(pytester)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "failure analysis: 6 failing items in 5 cases (base, tuned); 3 regressions on the candidate",
            "  weakness * cases  items  calls  candidate only  both  baseline only",
            "  assertion json_path $.category: 'account'      3      3      3               3     0              0",
            "  tag account * 2      2      2               2     0              0",
            "  - assertion json_path*: fails on the candidate only: the change broke it; if it was fine-tuned, "
            "look at the training data's labels*",
            "  memorisation trap: tag account: all 2 failing cases would be training data, leaving the gate no "
            "held-out case for it; export with --pc-export-split 0.8*or add cases first (promptcheck add)",
            "  details: promptcheck analyze RUN · promptcheck plan RUN*",
        ]
    )


def test_no_failures_no_analysis_lines(project: Any, pytester: pytest.Pytester) -> None:
    """A run where everything passes has no failure analysis in its summary."""
    project.suite(body='prompts: {p: "{{ x }}"}\ncases:\n  - {id: a, vars: {x: hi}, assert: [{equals: hi}]}\n')
    result = pytester.runpytest("--pc-report", "json:out.json")
    result.assert_outcomes(passed=1)
    assert "failure analysis" not in result.stdout.str()
    data = json.loads((pytester.path / "out.json").read_text(encoding="utf-8"))
    assert data["analysis"]["failures"]["weaknesses"] == []


def test_failures_by_prompt_variant(project: Any, pytester: pytest.Pytester) -> None:
    """With several variants, a variant that fails is a weakness of its own (one model: no sides)."""
    project.suite(
        body="""\
        prompts: {short: "{{ x }}", long: "Answer: {{ x }}"}
        cases:
          - {id: a, tags: [greet], vars: {x: hi}, assert: [{equals: hi}]}
          - {id: b, vars: {x: yo}, assert: [{equals: yo}]}
        """
    )
    result = pytester.runpytest("--pc-report", "json:out.json")
    result.assert_outcomes(passed=2, failed=2)
    failures = json.loads((pytester.path / "out.json").read_text(encoding="utf-8"))["analysis"]["failures"]
    variants = {
        w["key"]: (w["cases"], w["items"], w["sides"]) for w in failures["weaknesses"] if w["kind"] == "variant"
    }
    assert variants == {"long": (2, 2, {})}
    assert weakness({"failures": failures}, "assertion", "equals 'hi'")["got"] == {"Answer: hi": 1}
    assert failures["models"] == ["echo"] and failures["regressions"] == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("gian = 0.2", "[tool.promptcheck.analysis]: unknown key 'gian'; valid keys: gain, power, vars"),
        ("gain = 0", "[tool.promptcheck.analysis] gain must be a number above 0 and at most 1, got 0"),
        ('vars = "area"', "[tool.promptcheck.analysis] vars must be a list of case variable names"),
        ("share_factor = 1", "[tool.promptcheck.analysis] share_factor must be a number above 1, got 1"),
    ],
)
def test_analysis_config_is_checked(pytester: pytest.Pytester, body: str, words: str) -> None:
    """A wrong [tool.promptcheck.analysis] key or value stops the run, naming the file and the key."""
    setup_analysis_project(pytester, body)
    result = pytester.runpytest()
    assert result.ret != 0
    assert f"pyproject.toml: {words}" in result.stdout.str() + result.stderr.str()


def test_report_sections(pytester: pytest.Pytester) -> None:
    """The Markdown and HTML reports carry the analysis, the plan and the shares as tables."""
    setup_analysis_project(pytester)
    pytester.runpytest("--pc-report", "md:out.md", "--pc-report", "html:out.html").assert_outcomes(passed=6, failed=6)
    md = (pytester.path / "out.md").read_text(encoding="utf-8")
    assert "### Failure analysis: 6 failing items in 5 cases" in md
    assert "| tag account | 2 | 2 | 2 | 2 | 0 | 0 | fails on the candidate only" in md
    assert "| tag account | 2 | 2 | 0 | 0 | 2 | 2 | 0 | 153 | no | ⚠️ memorisation |" in md
    assert "| tag billing | 1 | 0 | 0 | 1 | 0 | 2 | 2 | 29 | no |  |" in md
    assert "| tag account | 33% (2) | 100% (2) | – | ⚠️ |" in md
    assert md.index("### Data plan") < md.index("### Changed cases")
    html = (pytester.path / "out.html").read_text(encoding="utf-8")
    assert '<section id="analysis"><h2>Failure analysis</h2>' in html
    assert (
        "<tr><td>tag account</td><td>2</td><td>2</td><td>0</td><td>0</td><td>2</td><td>2</td><td>0</td><td>153</td>"
        in html
    )
    assert '<section id="representativeness">' in html and "<td>flagged</td>" in html


def test_the_analysis_is_the_same_under_xdist(pytester: pytest.Pytester) -> None:
    """Two workers give the controller the same records, so the same analysis and plan."""
    setup_analysis_project(pytester)
    plain = report(pytester)
    spread = report(pytester, "-n", "2")
    assert spread == plain
