"""What a run records is what happened: every assertion's reason and message, every call's output,
in results.jsonl, the HTML and Markdown reports and junit (issue 13, items 2 and 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_pyproject

APP = """
import json


def base(messages, params):
    text = messages[-1]["content"]
    return json.dumps({"category": "billing"}) if "invoice" in text else f"Dear {text.split()[-1]}, approved"


def tuned(messages, params):
    text = messages[-1]["content"]
    if "invoice" in text:
        return json.dumps({"category": "account"})
    return "Dear Emily, approved" if "Emily" in text else "Dear Jamal, we need more documents"
"""

SUITE = """
prompts: {p: "{{ x }}"}
cases:
  - id: invoice
    vars: {x: "wrong invoice total"}
    assert:
      - json_path: {path: $.category, equals: billing}
        message: invoice tickets are billing
  - id: loan
    vars: {x: "loan for {{ name }}"}
    counterfactual: {name: [Emily, Jamal]}
    assert: [{contains: approved}]
"""


@pytest.fixture
def ran(pytester: pytest.Pytester) -> Path:
    pytester.makepyfile(fidelityapp=APP)
    pytester.makepyprojecttoml(make_pyproject({"base": "fidelityapp:base", "tuned": "fidelityapp:tuned"},
                                              'baseline = "base"\ncandidate = "tuned"\n'))  # fmt: skip
    pytester.makefile(".prompts.yaml", test_fidelity=SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--pc-report", "html:r.html", "--pc-report", "md:r.md",
                                "--junitxml", "j.xml")  # fmt: skip
    result.assert_outcomes(passed=2, failed=2)
    return pytester.path


REASON = "at $.category: expected 'billing', got 'account'"


def test_reasons_and_messages_reach_the_run_record(ran: Path) -> None:
    """The json_path failure keeps the path, expected and got (it was stored as ""), and the case's message."""
    (results,) = (ran / ".promptcheck" / "runs").glob("*/results.jsonl")
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    (tuned,) = [line for line in lines if line["case"] == "invoice" and line["model"] == "tuned"]
    (check,) = tuned["assertions"]
    assert (check["passed"], check["reason"], check["message"]) == (False, REASON, "invoice tickets are billing")


def test_reasons_messages_and_every_output_reach_the_reports(ran: Path) -> None:
    """HTML and Markdown show the reason and message; HTML and junit hold both counterfactual outputs."""
    html = (ran / "r.html").read_text()
    markdown = (ran / "r.md").read_text()
    for text in (html, markdown):
        assert "at $.category: expected 'billing', got 'account'" in text
        assert "invoice tickets are billing" in text
    junit = (ran / "j.xml").read_text()
    for output in ("Dear Emily, approved", "Dear Jamal, we need more documents"):
        assert output in html
        assert output in junit
    assert "name='Jamal' · sample 0" in html  # every call is labelled by its counterfactual value
