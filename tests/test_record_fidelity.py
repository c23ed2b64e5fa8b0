"""What a run records is what happened: every assertion's reason and message, every call's output,
in results.jsonl, the HTML and Markdown reports and junit (issue 13, items 2 and 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_pyproject
from llm_server import LLMServer, Reply

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


def test_records_name_the_resolved_endpoint_and_what_the_server_served(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """model and base_url from ${ENV}: records and failure headers show the resolved values (user info
    scrubbed) and the model the server said it served, not '${PC_TEST_MODEL}'."""
    monkeypatch.setenv("PC_TEST_MODEL", "gpt-test")
    monkeypatch.setenv("PC_TEST_URL", llm_server.base_url.replace("http://", "http://user:secret@"))
    llm_server.responder = lambda request: Reply("wrong", model="gpt-test-2026-01-01")
    pytester.makepyprojecttoml(
        """
        [tool.promptcheck]
        models = ["gpt"]
        [tool.promptcheck.model.gpt]
        provider = "openai"
        model = "${PC_TEST_MODEL}"
        base_url = "${PC_TEST_URL}"
        """
    )
    pytester.makefile(".prompts.yaml", test_one='prompts: {p: "hi"}\ncases: [{id: c, assert: [{equals: right}]}]\n')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["case 'c' · prompt p · model gpt (openai:gpt-test)"])
    (results,) = (pytester.path / ".promptcheck" / "runs").glob("*/results.jsonl")
    (line,) = [json.loads(text) for text in results.read_text().splitlines()]
    assert (line["served"], line["base_url"], line["served_model"]) == (
        "openai:gpt-test",
        llm_server.base_url,
        "gpt-test-2026-01-01",
    )
    assert "secret" not in results.read_text()
