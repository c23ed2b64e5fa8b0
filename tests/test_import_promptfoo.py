"""`promptcheck import promptfoo`: each config of tests/promptfoo/ imports, lints, runs and gets the
verdicts written in its header beforehand (from promptfoo's documented semantics; see the README there)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llm_server import LLMServer, RecordedRequest

pytest.importorskip("openai")
pytestmark = pytest.mark.usefixtures("openai_warm", "anthropic_warm")

FIXTURES = Path(__file__).parent / "promptfoo"
CONFIGS = sorted(p.name for p in FIXTURES.iterdir() if (p / "promptfooconfig.yaml").is_file())
_RESULT = re.compile(r"::(\S+) (PASSED|FAILED|ERROR)")


def header(config: str, key: str) -> str | None:
    for line in config.splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


def promptcheck(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_promptcheck.cli", "import", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def grader(request: RecordedRequest) -> str:
    """The grader of 12-model-graded: a verdict for the judge's requests, an echo for the rest."""
    if request.body.get("model") == "grader-test":
        named = "Paris" in request.text
        return json.dumps({"score": 1.0 if named else 0.0, "reason": "names Paris" if named else "no capital"})
    return request.last_user


def copy_fixture(name: str, dest: Path, server: LLMServer) -> str:
    for file in (FIXTURES / name).iterdir():
        text = file.read_text(encoding="utf-8").replace("http://LLM_SERVER", server.url)
        (dest / file.name).write_text(text, encoding="utf-8")
    return (FIXTURES / name / "promptfooconfig.yaml").read_text(encoding="utf-8")


def test_enough_configs() -> None:
    """At least 15 configs, each citing a promptfoo docs page and stating its verdicts."""
    assert len(CONFIGS) >= 15
    for name in CONFIGS:
        text = (FIXTURES / name / "promptfooconfig.yaml").read_text(encoding="utf-8")
        assert "promptfoo.dev/docs" in text and header(text, "expect"), name


@pytest.mark.parametrize("name", CONFIGS)
def test_config_imports_and_runs(pytester: pytest.Pytester, llm_server: LLMServer, name: str) -> None:
    """Import → lint clean → run: the verdicts and the TODO lines are those written in the fixture."""
    config = copy_fixture(name, pytester.path, llm_server)
    if header(config, "responder") == "grader":
        llm_server.responder = grader
    result = promptcheck(pytester.path, "promptfoo", "promptfooconfig.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 suite(s) OK" in result.stderr, result.stdout + result.stderr
    todo_lines = sorted({int(n) for n in re.findall(r"^promptfooconfig\.yaml:(\d+): TODO", result.stdout, re.M)})
    assert todo_lines == json.loads(header(config, "todo-lines") or "[]"), result.stdout
    suite = (pytester.path / "test_promptfooconfig.prompts.yaml").read_text(encoding="utf-8")
    assert suite.count("# TODO ") == result.stdout.count(": TODO ")
    run = pytester.runpytest("-v", *(header(config, "run") or "").split())
    got = {m.group(1): m.group(2).lower() for m in _RESULT.finditer(run.stdout.str())}
    assert got == json.loads(header(config, "expect") or "{}"), run.stdout.str()


def test_summary_and_model_tables_kept_comments(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """The summary counts mapped/approximated/unsupported; pyproject.toml keeps its lines, gains tables."""
    copy_fixture("15-unsupported", pytester.path, llm_server)
    before = '# our project\n[tool.promptcheck]\ntimeout = 30  # seconds\n\n[tool.promptcheck.model.other]\nprovider = "openai"\nmodel = "x"\n'
    (pytester.path / "pyproject.toml").write_text(before, encoding="utf-8")
    result = promptcheck(pytester.path, "promptfoo", "promptfooconfig.yaml")
    assert result.returncode == 0, result.stderr
    assert "1 case(s)" not in result.stdout
    assert "2 case(s), 1 prompt variant(s), 1 model(s)" in result.stdout
    assert "assertions: 1 mapped, 1 approximated, 2 unsupported; 6 TODO(s)" in result.stdout
    after = (pytester.path / "pyproject.toml").read_text(encoding="utf-8")
    assert after.startswith(before)
    assert "[tool.promptcheck.model.local]" in after
    again = promptcheck(pytester.path, "promptfoo", "promptfooconfig.yaml", "--force")
    assert again.returncode == 0, again.stderr
    assert (pytester.path / "pyproject.toml").read_text(encoding="utf-8") == after  # same table: not twice


def test_existing_suite_is_not_overwritten(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """A second import refuses to replace the suite without --force, and says so."""
    copy_fixture("01-inline-prompts", pytester.path, llm_server)
    assert promptcheck(pytester.path, "promptfoo", "promptfooconfig.yaml").returncode == 0
    second = promptcheck(pytester.path, "promptfoo", "promptfooconfig.yaml")
    assert second.returncode == 1
    assert "exists; pass --force" in second.stderr


def test_unreadable_config_is_one_line(pytester: pytest.Pytester) -> None:
    """Broken YAML: a file:line message, no traceback, nothing written."""
    (pytester.path / "promptfooconfig.yaml").write_text("prompts: [unclosed\n", encoding="utf-8")
    result = promptcheck(pytester.path, "promptfoo", "promptfooconfig.yaml")
    assert result.returncode == 1
    assert "promptfooconfig.yaml:" in result.stderr and "Traceback" not in result.stderr
    assert not (pytester.path / "test_promptfooconfig.prompts.yaml").exists()


def test_check_without_promptfoo_says_skipped(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """--check with no npx on PATH: the import still works and says the comparison was skipped."""
    copy_fixture("01-inline-prompts", pytester.path, llm_server)
    command = [sys.executable, "-m", "pytest_promptcheck.cli", "import", "promptfoo", "promptfooconfig.yaml", "--check"]
    env = {**os.environ, "PATH": str(pytester.path / "no-bin")}
    result = subprocess.run(command, cwd=pytester.path, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "check skipped: promptfoo is not installed" in result.stdout


@pytest.mark.skipif(shutil.which("npx") is None, reason="promptfoo (npx promptfoo) is not installed")
@pytest.mark.parametrize("name", ["01-inline-prompts", "03-chat-json-prompt", "04-csv-tests", "06-array-vars"])
def test_rendering_matches_promptfoo(pytester: pytest.Pytester, llm_server: LLMServer, name: str) -> None:
    """Optional: with promptfoo installed, --check finds the same rendered prompts in both tools."""
    copy_fixture(name, pytester.path, llm_server)
    result = promptcheck(pytester.path, "promptfoo", "promptfooconfig.yaml", "--check")
    if "check skipped" in result.stdout:
        pytest.skip("npx is here but promptfoo is not installed")
    assert "are the same in both tools" in result.stdout, result.stdout


ODD = """\
prompts: {raw: 'Hi {{x}}', label: only}
providers:
  - {label: nameless}
  - openai:chat:m: {config: null}
defaultTest: file://missing.yaml
tests:
  - vars: file://vars.yaml
  - vars: {x: 1}
    threshold: high
    assert:
      - type: contains
        value: {a: 1}
      - 42
  - description: single
    vars: {x: y}
    assert: {type: contains, value: y}
"""


def test_odd_shapes_are_todos_not_tracebacks(pytester: pytest.Pytester) -> None:
    """Parts of unexpected shape (missing files, a non-number threshold, a bare assertion) are TODOs."""
    (pytester.path / "promptfooconfig.yaml").write_text(ODD, encoding="utf-8")
    result = promptcheck(pytester.path, "promptfoo", "promptfooconfig.yaml")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    for line in (3, 5, 7, 9, 11, 13):
        assert f"promptfooconfig.yaml:{line}: TODO" in result.stdout, (line, result.stdout)
    assert "3 case(s), 1 prompt variant(s), 1 model(s)" in result.stdout


def test_a_taken_model_name_gets_a_suffix(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """A provider whose name is already a different model in pyproject.toml becomes `local-2`; the suite uses it."""
    copy_fixture("01-inline-prompts", pytester.path, llm_server)
    mine = '[tool.promptcheck.model.local]\nprovider = "python"\nfunction = "app:run"  # ours\n'
    (pytester.path / "pyproject.toml").write_text(mine, encoding="utf-8")
    result = promptcheck(pytester.path, "promptfoo", "promptfooconfig.yaml", "--no-lint")
    assert result.returncode == 0, result.stderr
    after = (pytester.path / "pyproject.toml").read_text(encoding="utf-8")
    assert after.startswith(mine) and "[tool.promptcheck.model.local-2]" in after
    assert "    - local-2\n" in (pytester.path / "test_promptfooconfig.prompts.yaml").read_text(encoding="utf-8")


ELSEWHERE = """\
prompts: ['{{payload}}']
providers: [file://provider.py]
tests:
  - vars: {payload: '{"a": 1}'}
    assert:
      - {type: is-json, value: file://schema.json}
      - {type: python, value: file://checks.py}
  - vars: {payload: '{"b": 1}'}
    assert:
      - {type: is-json, value: file://schema.json}
"""


def test_out_folder_elsewhere(pytester: pytest.Pytester) -> None:
    """--out another folder: schemas are read into the suite, python files are found from there."""
    files = {
        "promptfooconfig.yaml": ELSEWHERE,
        "schema.json": '{"type": "object", "required": ["a"]}',
        "checks.py": "def get_assert(output, context):\n    return context['vars']['payload'] == output\n",
        "provider.py": "def call_api(prompt, options, context):\n    return {'output': prompt}\n",
    }
    for name, text in files.items():
        (pytester.path / name).write_text(text, encoding="utf-8")
    result = promptcheck(pytester.path, "promptfoo", "promptfooconfig.yaml", "--out", "suites")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "required:" in (pytester.path / "suites" / "test_promptfooconfig.prompts.yaml").read_text()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    run = subprocess.run(command, cwd=pytester.path / "suites", capture_output=True, text=True, timeout=120)
    assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
