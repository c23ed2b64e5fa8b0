"""--pc-record / --pc-replay (SPEC §8): cassettes next to the suite, replay without network or keys,
and no secret in any artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import PromptProject
from llm_server import LLMServer, RecordedRequest

pytestmark = pytest.mark.usefixtures("openai_warm")

KEY_ENV = "PC_TEST_SECRET_KEY"
KEY = "sk-live-" + "Q7x" * 12  # what a real key looks like; it must never be written anywhere

PROJECT = """
[tool.promptcheck]
models = ["gpt"]
redact = ["acct-[0-9]+", "X-Internal-Token"]

[tool.promptcheck.model.gpt]
provider = "openai"
model = "gpt-test"
base_url = "{base_url}"
api_key_env = "{key_env}"

[tool.promptcheck.model.grader]
provider = "openai"
model = "grader"
base_url = "{base_url}"
api_key_env = "{key_env}"
"""

SUITE = """
prompts:
  p: "{{ x }}"
cases:
  - id: refund
    vars: {x: "refund please"}
    ideal: "refund please"
    assert: [{contains: refund}]
  - id: wrong
    vars: {x: "no idea"}
    ideal: "a refund"
    assert: [{contains: refund}]
  - id: account
    vars: {x: "account acct-123456 X-Internal-Token: tok-998877 locked"}
    assert: [{contains: locked}]
  - id: graded
    vars: {x: "Please wait."}
    repeat: 2
    assert: [{judge: {rubric: "polite", model: grader}}]
"""


def responder(request: RecordedRequest) -> str:
    if request.body.get("model") == "grader":
        return '{"score": 0.9, "reason": "polite enough"}'
    return request.last_user


def write_project(pytester: pytest.Pytester, base_url: str) -> None:
    pytester.makepyprojecttoml(PROJECT.format(base_url=base_url, key_env=KEY_ENV))
    pytester.makefile(".prompts.yaml", test_support=SUITE)


def verdicts(root: Path) -> dict[tuple[str, int], Any]:
    newest = sorted((root / ".promptcheck" / "runs").iterdir())[-1]
    lines = [json.loads(x) for x in (newest / "results.jsonl").read_text().splitlines()]
    return {(x["item"], x["sample"]): (x["outcome"], x["passed"], x["output"]) for x in lines}


def test_replay_without_server_or_key_gives_the_same_verdicts(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Record with the server and a key; replay with the server stopped and no key: same verdicts, no request."""
    llm_server.responder = responder
    monkeypatch.setenv(KEY_ENV, KEY)
    write_project(pytester, llm_server.base_url)
    recorded = pytester.runpytest("--pc-record", "--pc-no-cache")
    recorded.assert_outcomes(passed=3, failed=1)
    recorded.stdout.fnmatch_lines(["promptcheck record: 6 entries in cassettes/test_support.cassette.jsonl"])
    assert llm_server.request_count == 6  # 5 calls + 1 judge call (both samples ask the judge the same)
    before = verdicts(pytester.path)
    llm_server.stop()
    monkeypatch.delenv(KEY_ENV)
    replayed = pytester.runpytest("--pc-replay")
    replayed.assert_outcomes(passed=3, failed=1)
    replayed.stdout.fnmatch_lines(["promptcheck replay: 5/5 calls answered from cassettes"])
    after = verdicts(pytester.path)
    assert after == before
    assert llm_server.request_count == 6


def test_cassette_is_sorted_redacted_json_lines(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One JSON object per line with sorted keys, `redact` patterns scrubbed, a re-record keeps other cases."""
    llm_server.responder = responder
    monkeypatch.setenv(KEY_ENV, KEY)
    write_project(pytester, llm_server.base_url)
    pytester.runpytest("--pc-record")
    path = pytester.path / "cassettes" / "test_support.cassette.jsonl"
    text = path.read_text()
    entries = [json.loads(line) for line in text.splitlines()]
    assert [json.dumps(e, sort_keys=True, ensure_ascii=False) for e in entries] == text.splitlines()
    assert [(e["case"], e["model"], e["sample"]) for e in entries] == sorted(
        (e["case"], e["model"], e["sample"]) for e in entries
    )
    assert "acct-123456" not in text and "tok-998877" not in text and "[REDACTED]" in text
    assert {e["model"] for e in entries if e["case"] == "graded"} == {"gpt", "grader"}
    pytester.runpytest("--pc-record", "-k", "refund")  # records a part: the rest stays
    assert len(path.read_text().splitlines()) == len(entries)


def test_missing_entry_names_case_model_and_closest(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prompt changed since recording is an item error naming the case, the model and the closest entry."""
    llm_server.responder = responder
    monkeypatch.setenv(KEY_ENV, KEY)
    write_project(pytester, llm_server.base_url)
    pytester.runpytest("--pc-record")
    pytester.makefile(".prompts.yaml", test_support=SUITE.replace("refund please", "refund now please"))
    result = pytester.runpytest("--pc-replay", "-k", "refund")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*replay model 'gpt': no recorded answer for case 'refund' (sample 0) on model 'gpt' in cassettes/test_support.cassette.jsonl (key *)",
            "  closest recorded entry: case 'refund', model 'gpt', sample 0; the prompt differs:",
            "    -user: refund please",
            "    +user: refund now please",
            "  record it with --pc-record*",
        ]
    )


def test_record_and_replay_exclude_each_other(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Asking for both is a usage error that says what to do."""
    project.suite(body='prompts: {p: "x"}\ncases: [{id: a}]\n')
    result = pytester.runpytest("--pc-record", "--pc-replay")
    result.stderr.fnmatch_lines(["*--pc-record and --pc-replay exclude each other*"])


def test_xdist_record_writes_one_complete_cassette(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Under -n 2 each worker's calls reach the controller, which writes the cassette once."""
    pytest.importorskip("xdist")
    cases = "\n".join(f"  - {{id: c{i}, vars: {{x: 'w{i}'}}, assert: [{{contains: w}}]}}" for i in range(10))
    project.suite(body=f'prompts: {{p: "{{{{ x }}}}"}}\ncases:\n{cases}\n')
    pytester.runpytest_subprocess("-n", "2", "--pc-record").assert_outcomes(passed=10)
    lines = (pytester.path / "cassettes" / "test_suite.cassette.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["case"] for x in lines) == sorted(f"c{i}" for i in range(10))
    (pytester.path / "app.py").unlink()  # replay needs no model at all
    pytester.runpytest_subprocess("-n", "2", "--pc-replay").assert_outcomes(passed=10)


def test_no_secret_in_any_artifact(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API key reaches the server, but no record, cassette, cache, report, export or terminal output."""
    llm_server.responder = responder
    monkeypatch.setenv(KEY_ENV, KEY)
    write_project(pytester, llm_server.base_url)
    outputs = [
        pytester.runpytest("--pc-record", "--pc-report", "json:out/report.json", "--pc-export", "out/ft.jsonl", "-v"),
        pytester.runpytest("-v", "--pc-export", "out/dpo.jsonl", "--pc-export-format", "openai-dpo"),
        pytester.runpytest("-v", "--pc-replay", "--junitxml", "out/junit.xml"),
    ]
    assert llm_server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    files = [p for p in pytester.path.rglob("*") if p.is_file() and p.suffix != ".pyc"]
    names = {p.name for p in files}
    assert {
        "cache.db",
        "results.jsonl",
        "manifest.json",
        "test_support.cassette.jsonl",
        "report.json",
        "ft.jsonl",
    } <= names
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path
    for result in outputs:
        assert KEY not in result.stdout.str() + result.stderr.str()
