"""No secret a model echoes reaches any file the plugin or the CLI writes, nor the terminal.

The openai SDK talks to the tests' local server (tests/llm_server.py); the candidate's answer
echoes the API key the server received in the Authorization header and a string matching the
project's ``redact`` pattern. Every artifact is asked for at once, then every file under the
project (the SQLite cache's bytes included) is searched for both.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import PromptProject
from llm_server import LLMServer, RecordedRequest

pytest.importorskip("openai")
pytestmark = pytest.mark.usefixtures("openai_warm")  # see server_fixtures.openai_warm

KEY_ENV = "PC_ECHO_VAR"  # a name the redactor does not know as a secret: only api_key_env makes it one
KEY = "zq8vN3pL0rT5wY7xQ4mD"  # no credential shape: only its value being the key can scrub it
ACCOUNT = "acct-654321"  # matches the project's `redact` pattern; only the server knows it
PASSWORD_ENV = "PC_ECHO_PASSWORD"  # a credential-named variable: scrubbed by its name
PASSWORD = "pa&ss\"w<rd>'9911"  # HTML, JSON and repr escape it: it must be scrubbed before encoding
PAD = "p" * 285  # puts the key across the 300-character clip of a quoted value: a clip must not cut a secret

SUITE = """
prompts:
  p: "{{ question }}"
cases:
  - id: leak
    vars: { question: "what did you receive?" }
    ideal: fine
    assert: [ { contains: fine } ]
"""


def _pyproject(base_url: str) -> str:
    models = "\n".join(
        f'[tool.promptcheck.model.{name}]\nprovider = "openai"\nmodel = "{name}"\n'
        f'base_url = "{base_url}"\napi_key_env = "{KEY_ENV}"\n'
        for name in ("base", "cand")
    )
    return (
        textwrap.dedent("""
        [tool.promptcheck]
        models = ["base", "cand"]
        baseline = "base"
        candidate = "cand"
        redact = ["acct-[0-9]{6}"]
        """)
        + models
    )


def _echo_secrets(request: RecordedRequest) -> str:
    if request.body.get("model") == "base":
        return "fine"
    key = request.headers.get("authorization", "").split()[-1]
    header = request.headers.get("authorization")
    return f"{PAD}key {key}; account {ACCOUNT}; header {header}; password {os.environ[PASSWORD_ENV]}"


def _encodings(secret: str) -> set[bytes]:
    """The secret as an artifact might hold it: raw, its head (clipped), JSON-, HTML-, repr- or script-escaped."""
    script = json.dumps(secret)[1:-1]
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        script = script.replace(raw, escaped)
    forms = {secret, secret[:7], repr(secret)[1:-1], json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=True)[1:-1], html.escape(secret),
             html.escape(secret, quote=False), script}  # fmt: skip
    return {f.encode() for f in forms}


def test_no_secret_in_any_artifact(pytester: pytest.Pytester, llm_server: LLMServer,
                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Reports (json, html, md), junit, record, cassettes, export, cache, CLI report/export: none holds a secret."""
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    llm_server.responder = _echo_secrets
    pytester.makepyprojecttoml(_pyproject(llm_server.base_url))
    pytester.makefile(".prompts.yaml", test_suite=textwrap.dedent(SUITE))
    result = pytester.runpytest(
        "-v", "--pc-record", "--junitxml=out/junit.xml", "--pc-export=out/export.jsonl",
        "--pc-report=json:out/r.json", "--pc-report=html:out/r.html", "--pc-report=md:out/r.md",
    )  # fmt: skip
    result.assert_outcomes(passed=1, failed=1)
    assert any(KEY in r.headers.get("authorization", "") for r in llm_server.requests)  # the key went out
    terminal = result.stdout.str() + result.stderr.str()
    cli = [sys.executable, "-m", "pytest_promptcheck.cli"]
    for args in (["report", "latest", "--html", "out/cli.html", "--md", "out/cli.md"],
                 ["export", "latest", "-o", "out/cli-export.jsonl"]):  # fmt: skip
        done = subprocess.run([*cli, *args], cwd=pytester.path, capture_output=True, text=True, check=True)
        terminal += done.stdout + done.stderr
    written = [p for p in pytester.path.rglob("*") if p.is_file()]
    names = {p.relative_to(pytester.path).as_posix() for p in written}
    for expected in ("out/r.json", "out/r.html", "out/r.md", "out/junit.xml", "out/export.jsonl", "out/cli.html",
                     "out/cli.md", "out/cli-export.jsonl", "cassettes/test_suite.cassette.jsonl"):  # fmt: skip
        assert expected in names, sorted(names)
    assert any(n.startswith(".promptcheck/cache.db") for n in names)
    assert any(n.endswith("results.jsonl") for n in names)
    cache = b"".join(p.read_bytes() for p in written if p.name.startswith("cache.db"))
    assert b"[REDACTED]" in cache  # the cache holds the candidate's (scrubbed) answer
    for secret in (KEY, ACCOUNT, PASSWORD):
        forms = _encodings(secret)
        leaks = [p.relative_to(pytester.path).as_posix() for p in written if any(f in p.read_bytes() for f in forms)]
        assert leaks == [], f"{secret!r} written to {leaks}"
        assert not any(f.decode() in terminal for f in forms), secret


def test_a_cache_hit_is_judged_on_the_scrubbed_answer(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                      project: PromptProject) -> None:  # fmt: skip
    """The cache keeps the scrubbed answer (no secret in cache.db); the next run's hit is judged on that text."""
    monkeypatch.setenv("PC_CACHE_TOKEN", "tok-8812345678abcdef")  # a credential-named variable
    pytester.makepyfile(
        app="import os\n\ndef leak(messages, params):\n    return 'token ' + os.environ['PC_CACHE_TOKEN']\n"
    )
    project.config({"m": "app:leak"})
    project.suite(body="prompts: {p: hi}\ncases:\n  - id: one\n    assert: [{contains: token}]\n")
    pytester.runpytest().assert_outcomes(passed=1)
    again = pytester.runpytest()
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["promptcheck cache: 1/1 calls from cache (100%)"])
    stored = b"".join(p.read_bytes() for p in (pytester.path / ".promptcheck").glob("cache.db*"))
    assert b"token [REDACTED]" in stored and b"tok-88" not in stored
