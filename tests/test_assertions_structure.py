"""Structure assertions: is_json (bare or in a ```json fence), json_schema, json_path."""

from __future__ import annotations

import json

import pytest

from conftest import PromptProject


def test_is_json(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`is_json` accepts bare JSON and a ```json fence after prose; prose, NaN and a broken fence fail."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: object
            vars: { reply: ' {"category": "billing"} ' }
            assert: [ is_json ]
          - id: array
            vars: { reply: '[1, 2, 3]' }
            assert: [ is_json ]
          - id: fenced
            vars:
              reply: |
                Sure! Here is the triage:
                ```json
                {"category": "billing", "priority": "high"}
                ```
            assert: [ is_json ]
          - id: prose
            vars: { reply: "I think it is billing" }
            assert: [ is_json ]
          - id: nan
            vars: { reply: "NaN" }
            assert: [ is_json ]
          - id: broken-fence
            vars:
              reply: |
                ```json
                {"category": billing}
                ```
            assert: [ is_json ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*::object?echo? PASSED*",
            "*::array?echo? PASSED*",
            "*::fenced?echo? PASSED*",
            "*::prose?echo? FAILED*",
            "*::nan?echo? FAILED*",
            "*::broken-fence?echo? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*output is not JSON: Expecting value: line 1 column 1*",
            "*output is not JSON: NaN is not valid JSON*",
            "*output is not JSON (in the ```json block): Expecting value*",
        ]
    )


def test_json_schema_inline_and_from_file(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`json_schema` validates against an inline schema or a file relative to the suite's folder."""
    schema = {
        "type": "object",
        "required": ["category", "priority"],
        "properties": {"category": {"enum": ["billing", "technical"]}, "priority": {"type": "string"}},
    }
    pytester.mkdir("prompts")
    pytester.mkdir("prompts/schemas")
    (pytester.path / "prompts/schemas/triage.json").write_text(json.dumps(schema), encoding="utf-8")
    project.suite(
        "prompts/test_suite",
        """
        prompts:
          p: "{{ reply }}"
        cases:
          - id: file-ok
            vars: { reply: '{"category": "billing", "priority": "high"}' }
            assert: [ { json_schema: schemas/triage.json } ]
          - id: file-bad-enum
            vars: { reply: '{"category": "food", "priority": "high"}' }
            assert: [ { json_schema: schemas/triage.json } ]
          - id: file-missing-key
            vars: { reply: '{"category": "billing"}' }
            assert: [ { json_schema: schemas/triage.json } ]
          - id: inline-ok
            vars: { reply: "```json\\n[1, 2]\\n```" }
            assert: [ { json_schema: { type: array, items: { type: integer } } } ]
          - id: inline-bad
            vars: { reply: '[1, "two"]' }
            assert: [ { json_schema: { type: array, items: { type: integer } } } ]
          - id: not-json
            vars: { reply: 'category: billing' }
            assert: [ { json_schema: { type: object } } ]
        """,
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*::file-ok?echo? PASSED*",
            "*::file-bad-enum?echo? FAILED*",
            "*::file-missing-key?echo? FAILED*",
            "*::inline-ok?echo? PASSED*",
            "*::inline-bad?echo? FAILED*",
            "*::not-json?echo? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*at $.category: expected {'enum': [[]'billing', 'technical']}, got 'food'*",
            "*'priority' is a required property*",
            "*at $[[]1]: expected {'type': 'integer'}, got 'two'*",
            "*output is not JSON*",
        ]
    )


def test_json_path_operations(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`json_path` equals/contains/regex/in/exists each pass on a match and fail on a mismatch."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        defaults:
          vars:
            reply: '{"category": "billing", "priority": "high", "tags": ["refund", "urgent"], "n": 3, "ok": true}'
        cases:
          - id: equals-ok
            assert: [ { json_path: { path: "$.category", equals: billing } } ]
          - id: equals-bad
            assert: [ { json_path: { path: "$.category", equals: account } } ]
          - id: equals-number
            assert: [ { json_path: { path: "$.n", equals: 3 } } ]
          - id: contains-list-ok
            assert: [ { json_path: { path: "$.tags", contains: urgent } } ]
          - id: contains-text-ok
            assert: [ { json_path: { path: "$.category", contains: bill } } ]
          - id: contains-bad
            assert: [ { json_path: { path: "$.tags", contains: vip } } ]
          - id: regex-ok
            assert: [ { json_path: { path: "$.priority", regex: "^(high|medium)$" } } ]
          - id: regex-bad
            assert: [ { json_path: { path: "$.priority", regex: "^low$" } } ]
          - id: in-ok
            assert: [ { json_path: { path: "$.priority", in: [medium, high] } } ]
          - id: in-bad
            assert: [ { json_path: { path: "$.priority", in: [low, medium] } } ]
          - id: exists-ok
            assert: [ { json_path: { path: "$.tags[0]", exists: true } } ]
          - id: absent-ok
            assert: [ { json_path: { path: "$.owner", exists: false } } ]
          - id: exists-bad
            assert: [ { json_path: { path: "$.owner", exists: true } } ]
          - id: wildcard-any
            assert: [ { json_path: { path: "$.tags[*]", equals: urgent } } ]
          - id: missing-path
            assert: [ { json_path: { path: "$.owner", equals: bob } } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=9, failed=6)
    result.stdout.fnmatch_lines(
        [
            "*::equals-ok?echo? PASSED*",
            "*::equals-bad?echo? FAILED*",
            "*::equals-number?echo? PASSED*",
            "*::contains-list-ok?echo? PASSED*",
            "*::contains-text-ok?echo? PASSED*",
            "*::contains-bad?echo? FAILED*",
            "*::regex-ok?echo? PASSED*",
            "*::regex-bad?echo? FAILED*",
            "*::in-ok?echo? PASSED*",
            "*::in-bad?echo? FAILED*",
            "*::exists-ok?echo? PASSED*",
            "*::absent-ok?echo? PASSED*",
            "*::exists-bad?echo? FAILED*",
            "*::wildcard-any?echo? PASSED*",
            "*::missing-path?echo? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*at $.category: expected 'account', got 'billing'*",
            "*at $.owner: expected True, got [[]]*",
            "*at $.owner: expected 'bob', got None*",
            "*(no value at path)*",
        ]
    )


def test_json_path_equality_is_json_typed(pytester: pytest.Pytester, project: PromptProject) -> None:
    """JSON `true` is not 1 and 1 is not `true`; a JSON string "5" equals an unquoted YAML 5."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        defaults:
          vars: { reply: '{"flag": true, "one": 1, "code": "5", "list": [1, 2]}' }
        cases:
          - id: bool-vs-int
            assert: [ { json_path: { path: "$.one", equals: true } } ]
          - id: int-vs-bool
            assert: [ { json_path: { path: "$.flag", equals: 1 } } ]
          - id: bool-ok
            assert: [ { json_path: { path: "$.flag", equals: true } } ]
          - id: text-number
            assert: [ { json_path: { path: "$.code", equals: 5 } } ]
          - id: in-bool
            assert: [ { json_path: { path: "$.one", in: [true, false] } } ]
          - id: list-contains-bool
            assert: [ { json_path: { path: "$.list", contains: true } } ]
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*::bool-vs-int?echo? FAILED*",
            "*::int-vs-bool?echo? FAILED*",
            "*::bool-ok?echo? PASSED*",
            "*::text-number?echo? PASSED*",
            "*::in-bool?echo? FAILED*",
            "*::list-contains-bool?echo? FAILED*",
        ]
    )


def test_json_path_on_non_json_output(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`json_path` on prose fails with the JSON parse error and the path it wanted, not a crash."""
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: prose
            vars: { reply: "the category is billing" }
            assert: [ { json_path: { path: "$.category", equals: billing } } ]
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*at $.category: expected 'billing', got 'the category is billing'*", "*not JSON*"])


def test_bad_structure_arguments_are_collection_errors(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Invalid is_json/json_schema/json_path arguments are collection errors at their own lines with a hint."""
    (pytester.path / "notjson.json").write_text("{oops", encoding="utf-8")
    project.suite(
        body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: bad
            vars: { reply: "x" }
            assert:
              - is_json: true
              - json_schema: schemas/missing.json
              - json_schema: notjson.json
              - json_schema: { type: 5 }
              - json_schema: 7
              - json_path: "$.category"
              - json_path: { equals: billing }
              - json_path: { path: "$.a", equals: 1, contains: 2 }
              - json_path: { path: "$.a", matches: x }
              - json_path: { path: "$[[", equals: 1 }
              - json_path: { path: "$.a", regex: "(x" }
              - json_path: { path: "$.a", in: high }
              - json_path: { path: "$.a", exists: maybe }
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*13 problem(s) in this suite*",
            "*test_suite.prompts.yaml:7: *`is_json` takes no argument; write it bare: `- is_json`*",
            "*test_suite.prompts.yaml:8: *`json_schema` file 'schemas/missing.json' not found*relative to the suite*",
            "*test_suite.prompts.yaml:9: *`json_schema` file 'notjson.json' is not valid JSON*",
            "*test_suite.prompts.yaml:10: *`json_schema` is not a valid JSON Schema*",
            "*test_suite.prompts.yaml:11: *`json_schema` needs a schema file path or an inline schema mapping, got 7*",
            "*test_suite.prompts.yaml:12: *`json_path` needs a mapping with `path`*e.g. `- json_path: {path: '$.category'*",
            "*test_suite.prompts.yaml:13: *`json_path` needs a mapping with `path`*",
            "*test_suite.prompts.yaml:14: *`json_path` needs exactly one of equals, contains, regex, in, exists*",
            "*test_suite.prompts.yaml:15: *`json_path` needs exactly one of*got [[]'matches']*",
            "*test_suite.prompts.yaml:16: *`json_path` path '$[[][[]' is not valid JSONPath*",
            "*test_suite.prompts.yaml:17: *`json_path` regex '(x' is not valid*",
            "*test_suite.prompts.yaml:18: *`json_path` `in` needs a list, got 'high'*",
            "*test_suite.prompts.yaml:19: *`json_path` `exists` needs true or false, got 'maybe'*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
