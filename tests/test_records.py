"""Run records (SPEC §12): manifest.json and results.jsonl, one line per call, one record under xdist."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import PromptProject
from llm_server import LLMServer

CALL_FIELDS = {
    "item", "suite", "case", "variant", "model", "provider", "served", "side", "tags", "ideal", "outcome", "error",
    "run", "index", "sample", "binding", "messages", "params", "seed", "output", "finish_reason", "usage",
    "latency_ms", "cost", "cached", "passed", "score", "assertions",
}  # fmt: skip

SUITE = """
prompts:
  terse: "{{ x }}"
  guided:
    - system: "Answer briefly."
    - user: "Say {{ x }}"
cases:
  - id: one
    tags: [greeting]
    vars: {x: hello}
    ideal: hello
    assert: [{contains: hello}]
  - id: two
    vars: {x: "{{ name }} waves"}
    counterfactual: {name: [Ann, Bo]}
    repeat: 2
    assert: [{contains: waves}]
"""


def run_folder(root: Path) -> Path:
    folders = sorted((root / ".promptcheck" / "runs").iterdir())
    assert len(folders) == 1, folders
    return folders[0]


def read_lines(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


def baseline_candidate(project: PromptProject) -> None:
    project.config({"base": "app:echo", "tuned": "app:echo_upper"}, 'baseline = "base"\ncandidate = "tuned"')


def test_results_have_one_line_per_call_with_every_field(pytester: pytest.Pytester, project: PromptProject) -> None:
    """2 variants x 2 models x (1 call + 2 names x 2 samples): 20 lines, each with every field of SPEC §12."""
    baseline_candidate(project)
    project.suite(body=SUITE)
    pytester.runpytest().assert_outcomes(passed=4, failed=4)
    lines = read_lines(run_folder(pytester.path))
    assert len(lines) == 20
    for line in lines:
        assert set(line) >= CALL_FIELDS, CALL_FIELDS - set(line)
    one = next(x for x in lines if x["case"] == "one" and x["variant"] == "guided" and x["model"] == "tuned")
    assert one["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Say hello"},
    ]
    assert (one["output"], one["ideal"], one["side"], one["tags"], one["passed"]) == (
        "SAY HELLO",
        "hello",
        "candidate",
        ["greeting"],
        False,
    )
    assert one["assertions"][0]["passed"] is False and "not found" in one["assertions"][0]["reason"]
    assert isinstance(one["latency_ms"], float) and one["cached"] is False
    two = sorted(
        (x["binding"]["name"], x["sample"])
        for x in lines
        if x["case"] == "two" and x["variant"] == "terse" and x["model"] == "base"
    )
    assert two == [("Ann", 0), ("Ann", 1), ("Bo", 0), ("Bo", 1)]


def test_manifest_documents_the_run(pytester: pytest.Pytester, project: PromptProject) -> None:
    """The manifest names versions, the command, models with function hashes, suite hashes, seed and sides."""
    baseline_candidate(project)
    project.suite(body=SUITE)
    pytester.runpytest("--pc-seed", "7", "-p", "no:randomly")
    manifest = json.loads((run_folder(pytester.path) / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["exitstatus"] == 1
    assert manifest["command"][:5] == ["pytest", "--pc-seed", "7", "-p", "no:randomly"]
    assert (manifest["seed"], manifest["baseline"], manifest["candidate"]) == (7, "base", "tuned")
    assert manifest["git"] is None  # the pytester folder is no git repository
    suite_bytes = (pytester.path / "test_suite.prompts.yaml").read_bytes()
    assert manifest["suites"] == {"test_suite.prompts.yaml": hashlib.sha256(suite_bytes).hexdigest()}
    assert manifest["models"]["tuned"]["function_identity"].startswith("app:echo_upper#")
    assert manifest["models"]["base"]["served"] == "python:app:echo"
    assert manifest["counts"] == {
        "items": 8,
        "calls": 20,
        "answered": 20,
        "cached": 0,
        "passed": 4,
        "failed": 4,
        "error": 0,
        "skipped": 0,
        "judge_calls": 0,
    }
    assert manifest["run_id"] == run_folder(pytester.path).name


def test_git_commit_and_dirty_flag(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Inside a git repository the manifest has the commit and whether tracked files changed."""
    project.suite(body=SUITE)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run([*git, *args], cwd=pytester.path, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=pytester.path, capture_output=True, text=True
    ).stdout.strip()
    pytester.runpytest()
    assert json.loads((run_folder(pytester.path) / "manifest.json").read_text())["git"] == {
        "commit": commit,
        "dirty": False,
        "untracked": 0,
    }


def test_no_record_without_prompt_items(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Suites collected but every item deselected: no run folder (and none for --collect-only)."""
    project.suite(body=SUITE)
    pytester.runpytest("--collect-only")
    pytester.runpytest("-k", "nothing_matches")
    assert not (pytester.path / ".promptcheck" / "runs").exists()


def test_xdist_writes_one_record(pytester: pytest.Pytester, project: PromptProject) -> None:
    """With -n 2 the controller writes the only record, with every call once."""
    pytest.importorskip("xdist")
    baseline_candidate(project)
    project.suite(body=SUITE)
    pytester.runpytest_subprocess("-n", "2").assert_outcomes(passed=4, failed=4)
    lines = read_lines(run_folder(pytester.path))
    assert len(lines) == 20
    assert len({(x["item"], x["index"]) for x in lines}) == 20


SLOW_PROJECT = """
[tool.promptcheck]
models = ["gpt"]
[tool.promptcheck.model.gpt]
provider = "openai"
model = "gpt-test"
base_url = "{base_url}"
concurrency = 1
"""


@pytest.mark.usefixtures("openai_warm")
def test_killed_run_keeps_whole_lines_and_a_usable_cache(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """SIGKILL mid-run: every line of results.jsonl is whole JSON, and the cache opens and answers afterwards."""
    llm_server.set_latency(0.15)
    pytester.makepyprojecttoml(SLOW_PROJECT.format(base_url=llm_server.base_url))
    cases = "\n".join(
        f"  - {{id: c{i}, vars: {{x: 'reply {i} {'x' * 3000}'}}, assert: [{{contains: reply}}]}}" for i in range(40)
    )
    pytester.makefile(".prompts.yaml", test_slow=f'prompts: {{p: "{{{{ x }}}}"}}\ncases:\n{cases}\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=pytester.path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    results = pytester.path / ".promptcheck" / "runs"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = list(results.glob("*/results.jsonl"))
        if found and found[0].read_bytes().count(b"\n") >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    text = found[0].read_text()
    lines = text.splitlines()
    assert 5 <= len(lines) < 40 and text.endswith("\n")
    assert all(json.loads(line)["output"].startswith("reply") for line in lines)
    db = sqlite3.connect(pytester.path / ".promptcheck" / "cache.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT count(*) FROM responses").fetchone()[0] >= len(lines)
    db.close()
    llm_server.set_latency(0)
    pytester.runpytest("-q").assert_outcomes(passed=40)
    killed, finished = sorted(results.glob("*/manifest.json"))
    assert json.loads(killed.read_text())["status"] == "running"  # written at the start, never completed
    assert json.loads(finished.read_text())["counts"]["cached"] >= len(lines)
