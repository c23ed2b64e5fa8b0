"""The case format: defaults merge, cases_from, prompts_from, file(), YAML 1.2, the shipped schema."""

from __future__ import annotations

import json

import pytest

from conftest import PromptProject


def test_defaults_merge_rules(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`assert` and `tags` from defaults are appended, other keys are replaced by the case's own."""
    project.suite(
        body="""
        prompts: {p: "{{ x }}"}
        defaults:
          tags: [base-tag]
          vars: {x: "from defaults"}
          assert: [ { contains: from } ]
        cases:
          - id: inherits
          - id: overrides
            tags: [own]
            vars: {x: "case value"}
            assert: [ { contains: case } ]
    """
    )
    result = pytester.runpytest("-v", "-m", "base-tag and own")
    result.assert_outcomes(failed=1, deselected=1)
    # the case's own assertion passed, the appended default one failed: both ran
    result.stdout.fnmatch_lines(["*✗ contains 'from'*", "*✓ contains 'case'*"])
    pytester.runpytest("-k", "inherits").assert_outcomes(passed=1, deselected=1)


def test_cases_from_jsonl_and_csv(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Rows of a JSONL and a CSV file become cases (CSV columns other than id/ideal/tags are vars)."""
    (pytester.path / "data").mkdir()
    rows = [{"id": "j1", "vars": {"x": "alpha"}, "tags": ["imported"]}, {"id": "j2", "vars": {"x": "beta"}}]
    (pytester.path / "data" / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (pytester.path / "data" / "rows.csv").write_text("id,x,tags\nc1,gamma,imported;csv\nc2,delta,\n")
    project.suite(
        body="""
        prompts: {p: "{{ x }}"}
        defaults:
          assert: [ { regex: "^[a-z]+$" } ]
        cases_from: [data/rows.jsonl, data/rows.csv]
    """
    )
    result = pytester.runpytest("-v", "-m", "imported")
    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines(["*::j1?echo? PASSED*", "*::c1?echo? PASSED*"])


def test_cases_from_item_points_at_its_row(pytester: pytest.Pytester, project: PromptProject) -> None:
    """An item made from a JSONL row reports the data file and the row's line as its location."""
    (pytester.path / "rows.jsonl").write_text('{"id": "a", "vars": {"x": "1"}}\n\n{"id": "b", "vars": {"x": "2"}}\n')
    project.suite(body='prompts: {p: "{{ x }}"}\ncases_from: rows.jsonl\n')
    items = pytester.getitems(pytester.path / "test_suite.prompts.yaml")
    path, lineno, _ = items[1].reportinfo()
    assert (path.name, lineno) == ("rows.jsonl", 2)


def test_prompts_from_folder_and_file_include(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Each file in `prompts_from` is a variant; `{{ file(...) }}` includes text relative to the suite."""
    prompts = pytester.mkdir("prompts")
    (prompts / "formal.txt").write_text("Dear customer: {{ x }}")
    (prompts / "casual.md").write_text("hey {{ x }}")
    (pytester.path / "footer.txt").write_text("-- support team")
    project.suite(
        body="""
        prompts:
          inline: "{{ x }} {{ file('footer.txt') }}"
        prompts_from: prompts
        cases:
          - id: c
            vars: {x: hello}
            assert: [ { contains: hello } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*c?inline-echo? PASSED*", "*c?casual-echo? PASSED*", "*c?formal-echo? PASSED*"])
    pytester.runpytest("-k", "inline", "-v").stdout.no_fnmatch_line("*FAILED*")


def test_yaml_12_keeps_no_on_yes_as_strings(pytester: pytest.Pytester, project: PromptProject) -> None:
    """YAML 1.2 semantics: `no` and `on` are text, not booleans (the Norway problem)."""
    project.suite(
        body="""
        prompts: {p: "{{ a }} {{ b }}"}
        cases:
          - id: c
            vars: {a: no, b: on}
            assert: [ { equals: "no on" } ]
    """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_vars_are_literal_text(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A var holding `{{ ... }}` is sent as written: vars are not templates (without counterfactual)."""
    project.suite(
        body="""
        prompts: {p: "{{ x }}"}
        cases:
          - id: c
            vars: {x: "{{ not_a_var }}"}
            assert: [ { equals: "{{ not_a_var }}" } ]
    """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_shipped_schema_validates_the_example_suite() -> None:
    """The packaged JSON Schema is valid and accepts the example suite (editors can use it)."""
    from pathlib import Path

    import jsonschema
    import yaml

    from pytest_promptcheck.suites.validate import suite_schema

    schema = suite_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    example = Path(__file__).parent.parent / "example_suite" / "test_triage.prompts.yaml"
    jsonschema.validate(yaml.safe_load(example.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"cases": [{"id": "x", "asert": []}]}, schema)
