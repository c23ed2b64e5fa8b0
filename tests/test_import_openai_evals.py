"""`promptcheck import openai-evals`: samples (input messages + ideal) become cases_from rows that run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PromptProject

# The shape of openai/evals registry samples (e.g. test_match): chat `input`, `ideal` text or list.
SAMPLES = [
    {
        "input": [{"role": "system", "content": "Complete the phrase."}, {"role": "user", "content": "Paris is"}],
        "ideal": "Paris",
    },
    {"input": [{"role": "user", "content": "Rome"}], "ideal": ["Milan", "Rome"]},
    {"input": [{"role": "user", "content": "the answer is 42"}], "ideal": "43"},
    {"input": "plain text input", "ideal": "plain"},
]


def promptcheck(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_promptcheck.cli", "import", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def write_samples(path: Path, samples: list[object]) -> Path:
    path.write_text("".join(json.dumps(s) + "\n" for s in samples), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("eval_class", "outcomes"),
    [
        ("match", {"passed": 3, "failed": 1}),  # starts with an ideal: Paris, Rome, plain; not "the answer"
        ("includes", {"passed": 3, "failed": 1}),  # contains an ideal
        ("fuzzy", {"passed": 2, "failed": 2}),  # one contains the other; only the first ideal (Milan, not Rome)
    ],
)
def test_samples_import_and_run(
    pytester: pytest.Pytester, project: PromptProject, eval_class: str, outcomes: dict[str, int]
) -> None:
    """Each sample is a row with its own messages (echo model: the reply is the last message)."""
    write_samples(pytester.path / "samples.jsonl", SAMPLES)
    result = promptcheck(pytester.path, "openai-evals", "samples.jsonl", "--eval", eval_class)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wrote test_samples.prompts.yaml: 4 case(s)" in result.stdout
    rows = [json.loads(line) for line in (pytester.path / "samples.cases.jsonl").read_text().splitlines()]
    assert rows[0]["messages"][0] == {"role": "system", "content": "Complete the phrase."}
    assert rows[3]["messages"] == [{"role": "user", "content": "plain text input"}]
    run = pytester.runpytest("-v")
    run.assert_outcomes(**outcomes)
    run.stdout.fnmatch_lines(["*test_samples.prompts.yaml::sample-3?echo? FAILED*"])


def test_bad_samples_are_listed_by_line_and_nothing_is_written(pytester: pytest.Pytester) -> None:
    """A sample without chat input or ideal is named at samples.jsonl:N; no suite is written."""
    write_samples(
        pytester.path / "samples.jsonl", [SAMPLES[0], {"input": [{"role": "robot", "content": "x"}]}, {"input": "x"}]
    )
    result = promptcheck(pytester.path, "openai-evals", "samples.jsonl")
    assert result.returncode == 1
    assert "samples.jsonl:2: `input` must be a list" in result.stderr
    assert "samples.jsonl:3: `ideal` must be" in result.stderr
    assert not (pytester.path / "test_samples.prompts.yaml").exists()


def test_import_feedback_and_its_alias(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`import feedback` is today's `import-feedback`; both still work."""
    project.suite(body="prompts: {p: '{{ q }}'}\ncases:\n  - id: a\n    vars: {q: hi}\n")
    for number, command in enumerate((["import", "feedback"], ["import-feedback"]), start=1):
        rows = pytester.path / f"fb{number}.jsonl"
        rows.write_text(json.dumps({"id": f"fb{number}", "vars": {"q": "x"}, "output": "bad"}) + "\n")
        argv = [
            sys.executable,
            "-m",
            "pytest_promptcheck.cli",
            *command,
            str(rows),
            "--into",
            "test_suite.prompts.yaml",
        ]
        result = subprocess.run(argv, cwd=pytester.path, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    assert "id: fb2" in (pytester.path / "test_suite.prompts.yaml").read_text()
