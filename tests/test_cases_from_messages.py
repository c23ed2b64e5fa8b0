"""`cases_from` JSONL rows may carry `messages`: a chat list sent instead of the prompt variants."""

from __future__ import annotations

import json

from conftest import PromptProject

ROWS = [
    {"id": "capital", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Paris"}]},
    {"id": "braces", "messages": [{"role": "user", "content": "{{ not a template }}"}], "ideal": "x"},
]


def _rows(project: PromptProject, rows: list[dict[str, object]]) -> None:
    project.pytester.makefile(".jsonl", samples="\n".join(json.dumps(r) for r in rows))


def test_row_messages_are_sent_as_they_are(project: PromptProject) -> None:
    """A suite without prompts runs each row's own messages, literally (braces are no template)."""
    _rows(project, ROWS)
    project.suite(
        body="""
        cases_from: samples.jsonl
        defaults:
          assert: [{contains_any: [Paris, "{{ not a template }}"]}]
        """
    )
    result = project.pytester.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_suite.prompts.yaml::capital?echo? PASSED*", "*::braces?echo? PASSED*"])


def test_row_messages_replace_the_prompt_variants(project: PromptProject) -> None:
    """With prompts, a row with messages ignores them; a row without messages renders them."""
    _rows(project, [ROWS[0], {"id": "plain", "vars": {"city": "Rome"}}])
    project.suite(
        body="""
        prompts:
          only: "City: {{ city }}"
        cases_from: samples.jsonl
        defaults:
          assert: [{regex: "^(Paris|City: Rome)$"}]
        """
    )
    project.pytester.runpytest("-v").assert_outcomes(passed=2)


def test_bad_messages_in_a_row_are_reported_at_its_line(project: PromptProject) -> None:
    """A row whose messages are not a chat list is a collection error at samples.jsonl:2."""
    _rows(project, [ROWS[0], {"id": "bad", "messages": [{"role": "robot", "content": "hi"}]}])
    project.suite(body="cases_from: samples.jsonl\n")
    result = project.pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*samples.jsonl:2*"])


def test_suite_without_prompts_still_needs_them_for_plain_rows(project: PromptProject) -> None:
    """Rows without messages and no prompts: the suite-has-no-prompts error, as before."""
    _rows(project, [{"id": "plain", "vars": {"city": "Rome"}}])
    project.suite(body="cases_from: samples.jsonl\n")
    result = project.pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the suite has no prompts*"])


def test_messages_are_not_a_yaml_case_key(project: PromptProject) -> None:
    """`messages` belongs to cases_from rows only; in `cases:` it is an unknown key."""
    project.suite(body='prompts: {p: "x"}\ncases:\n  - id: a\n    messages: [{user: hi}]\n')
    result = project.pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*messages*"])
