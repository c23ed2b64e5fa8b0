"""Prompt complexity vs capacity (issue 19): per variant and model, the provider's prompt tokens, the pass
rate, latency and cost; the cheapest variant near the best; the candidate keeping the baseline's
accuracy on a shorter prompt. Token counts come from the test server through the real openai SDK."""

from __future__ import annotations

import json
import textwrap

import pytest

from llm_server import LLMServer, RecordedRequest

pytest.importorskip("openai")
pytestmark = pytest.mark.usefixtures("openai_warm")  # see server_fixtures.openai_warm

# guided: 11 words of system prompt + "Ticket: a b c" = 15 prompt tokens (the server counts words); plain: 3.
SUITE = """
prompts:
  guided:
    - system: "You are a careful support triage assistant. Answer with one word."
    - user: "Ticket: {{ t }}"
  plain: "{{ t }}"
cases:
  - {id: a, vars: {t: "charged twice today"}, assert: [{equals: billing}]}
  - {id: b, vars: {t: "invoice looks wrong"}, assert: [{equals: billing}]}
  - {id: c, vars: {t: "refund my order"}, assert: [{equals: billing}]}
  - {id: d, vars: {t: "card was declined"}, assert: [{equals: billing}]}
"""


def triage(request: RecordedRequest) -> str:
    """base answers only with the guided prompt; tuned answers with both, except ticket d on the plain one."""
    guided = request.messages[0].get("role") == "system"
    if request.body["model"] == "tuned-m" and (guided or "declined" not in request.last_user):
        return "billing"
    return "billing" if guided else "no idea"


def write_project(pytester: pytest.Pytester, base_url: str, extra: str = "") -> None:
    models = "\n".join(
        f'[tool.promptcheck.model.{name}]\nprovider = "openai"\nmodel = "{name}-m"\nbase_url = "{base_url}"\n'
        f'api_key_env = "PC_TEST_KEY"\nprice = {{ input_per_mtok = 1.0, output_per_mtok = 0.0 }}\n'
        for name in ("base", "tuned")
    )
    pytester.makepyprojecttoml(
        f'[tool.promptcheck]\nmodels = ["base", "tuned"]\nbaseline = "base"\ncandidate = "tuned"\n{extra}\n{models}'
    )
    pytester.makefile(".prompts.yaml", test_triage=textwrap.dedent(SUITE))


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PC_TEST_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_prompt_cost_table_in_summary_and_reports(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """The server's usage counts reach the table: 15 vs 3 prompt tokens; within 5 pts tuned's cheapest is
    still `guided` (plain is 75%), and no shorter prompt keeps base's 100%."""
    llm_server.responder = triage
    write_project(pytester, llm_server.base_url)
    result = pytester.runpytest("--pc-report", "json:r.json", "--pc-report", "md:r.md", "--pc-report", "html:r.html")
    result.stdout.fnmatch_lines(
        [
            "prompt cost by variant × model (cheapest: pass rate within 5 pts of the model's best)",
            "model  variant  prompt tokens  pass rate  95% interval  p50 ms  cost/call",
            "base   guided *15 *100%*$0.000015  best, cheapest",
            "base   plain *3 *0%*$0.000003",
            "tuned  guided *15 *100%*$0.000015  best, cheapest",
            "tuned  plain *3 *75%*$0.000003",
        ]
    )
    assert "keeps base" not in result.stdout.str()
    report = json.loads((pytester.path / "r.json").read_text())["prompt_cost"]
    rows = {(r["model"], r["variant"]): r for r in report["rows"]}
    assert rows["tuned", "plain"]["prompt_tokens"] == 3 and rows["base", "guided"]["prompt_tokens"] == 15
    assert (rows["tuned", "plain"]["passed"], rows["tuned", "plain"]["judged"]) == (3, 4)
    assert rows["tuned", "plain"]["interval"][0] < 0.75 < rows["tuned", "plain"]["interval"][1]
    assert rows["base", "guided"]["cost_per_call"] == pytest.approx(15e-6)
    assert rows["base", "guided"]["latency_p50_ms"] is not None
    assert report["cheapest"] == {"base": {"variant": "guided", "best": "guided"},
                                  "tuned": {"variant": "guided", "best": "guided"}}  # fmt: skip
    assert report["shorter_prompt"] is None and report["variant_tolerance"] == 0.05
    markdown = (pytester.path / "r.md").read_text()
    assert "| tuned | plain | 3 | 75% |" in markdown
    assert '<section id="prompt-cost">' in (pytester.path / "r.html").read_text()


def test_tolerance_from_config_finds_the_shorter_prompt(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """[tool.promptcheck.prompt_cost] variant_tolerance = 0.3: tuned's 75% on `plain` counts as near its best,
    and as keeping base's accuracy on `guided`: 12 tokens fewer per call."""
    llm_server.responder = triage
    write_project(pytester, llm_server.base_url, "[tool.promptcheck.prompt_cost]\nvariant_tolerance = 0.3\n")
    result = pytester.runpytest("--pc-report", "json:r.json")
    result.stdout.fnmatch_lines(
        [
            "prompt cost by variant × model (cheapest: pass rate within 30 pts of the model's best)",
            "tuned  guided *15 *100%*  best",
            "tuned  plain *3 *75%*  cheapest",
            "tuned on `plain` (3 tokens, 75%) keeps base on `guided` (15 tokens, 100%) within 30 pts: −12 tokens per call",
        ]
    )
    shorter = json.loads((pytester.path / "r.json").read_text())["prompt_cost"]["shorter_prompt"]
    assert (shorter["candidate_variant"], shorter["baseline_variant"], shorter["saved_tokens_per_call"]) == (
        "plain", "guided", 12)  # fmt: skip


def test_bad_tolerance_is_a_usage_error(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    write_project(pytester, llm_server.base_url, "[tool.promptcheck.prompt_cost]\nvariant_tolerance = 2\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "[tool.promptcheck.prompt_cost] variant_tolerance (a pass-rate distance) must be a number of at least 0 and at most 1, got 2"
        in result.stderr.str()
    )


def test_one_variant_shows_no_table(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """With a single prompt variant there is nothing to weigh: no section, and null in the JSON."""
    write_project(pytester, llm_server.base_url)
    pytester.makefile(".prompts.yaml", test_triage='prompts: {p: "{{ t }}"}\ncases: [{id: a, vars: {t: x}}]\n')
    result = pytester.runpytest("--pc-report", "json:r.json")
    assert "prompt cost by variant" not in result.stdout.str()
    assert json.loads((pytester.path / "r.json").read_text())["prompt_cost"] is None


def test_trend_points_carry_prompt_tokens(
    pytester: pytest.Pytester, llm_server: LLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`promptcheck runs --trend` and the HTML trend chart show prompt tokens per call at each point
    (9 = the mean of 15 and 3 over both variants)."""
    from pytest_promptcheck.cli.main import main

    llm_server.responder = triage
    write_project(pytester, llm_server.base_url)
    pytester.runpytest()
    pytester.runpytest("--pc-report", "html:r.html")
    capsys.readouterr()
    assert main(["--runs", str(pytester.path / ".promptcheck" / "runs"), "runs", "--trend"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert len(lines) == 4 and all("  prompt 9 tokens/call" in line for line in lines)
    assert "prompt 9 tokens per call" in (pytester.path / "r.html").read_text()
