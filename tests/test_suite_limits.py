"""[tool.promptcheck.limits] bound what a suite may ask for, and cases_from files parse strictly (issue 14).

The plain one-error-per-suite inputs are in tests/malformed/; the hangs and bombs in tests/hostile/.
Here: limits that need the models or the command line, raised limits, and the inputs that must load.
"""

from __future__ import annotations

import json

import pytest

from conftest import PromptProject

THREE_CASES = """
    prompts:
      p: "{{ reply }}"
    defaults:
      vars: { reply: hello }
      repeat: 2
    cases:
      - id: one
      - id: two
      - id: three
"""


def test_planned_calls_count_models_and_repeats(pytester: pytest.Pytester, project: PromptProject) -> None:
    """3 cases x 2 models x 2 repeats = 12 calls pass `calls = 10` at the third case: a collection error there."""
    project.config({"echo": "app:echo", "upper": "app:echo_upper"}, extra="[tool.promptcheck.limits]\ncalls = 10")
    project.suite(body=THREE_CASES)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "test_suite.prompts.yaml:9: [[]case 'three'[]] the suite plans more than 10 calls by this case "
        "(cases x prompt variants x models x repeats x counterfactual values; limits.calls); split the suite*",
    ])  # fmt: skip
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert "Traceback" not in result.stdout.str()


def test_pc_repeat_counts_in_planned_calls(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`--pc-repeat` replaces the cases' repeat in the count: 3 cases x 1 model x 5 > 12, but x 4 fits."""
    project.config(extra="[tool.promptcheck.limits]\ncalls = 12")
    project.suite(body=THREE_CASES)
    result = pytester.runpytest("-p", "no:cacheprovider", "--pc-repeat", "5")
    result.stdout.fnmatch_lines(["test_suite.prompts.yaml:9: *more than 12 calls by this case*"])
    pytester.runpytest("-p", "no:cacheprovider", "--pc-repeat", "4").assert_outcomes(passed=3)


def test_pc_repeat_above_the_limit_is_a_usage_error(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`--pc-repeat` past `limits.repeat` stops before collection with an error naming the option and the key."""
    project.suite(body=THREE_CASES)
    result = pytester.runpytest("-p", "no:cacheprovider", "--pc-repeat", "1000000000")
    result.stderr.fnmatch_lines([
        "ERROR: --pc-repeat 1000000000 is more than 1000 samples (limits.repeat); pass a smaller N or raise "
        "[[]tool.promptcheck.limits[]] repeat",
    ])  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_yaml_limits_come_from_the_config(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Anchors and aliases load within the limits; `yaml_aliases = 2` refuses the third alias, at its line."""
    project.suite(body="""
        prompts:
          p: "{{ reply }}"
        cases:
          - id: one
            vars: &hello { reply: hello }
          - id: two
            vars: *hello
          - id: three
            vars: *hello
          - id: four
            vars: *hello
    """)  # fmt: skip
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=4)
    project.config(extra="[tool.promptcheck.limits]\nyaml_aliases = 2")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "test_suite.prompts.yaml:11: YAML aliases are used more than 2 times (limits.yaml_aliases); a suite holds "
        "no alias bombs * raise [[]tool.promptcheck.limits[]] yaml_aliases",
    ])  # fmt: skip


def test_suite_bytes_limit(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A suite file larger than `limits.suite_bytes` is refused before it is parsed, naming the key."""
    project.config(extra="[tool.promptcheck.limits]\nsuite_bytes = 64")
    project.suite(body=THREE_CASES)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "test_suite.prompts.yaml: suite 'test_suite.prompts.yaml' holds * bytes or more, over limits.suite_bytes = 64; raise it under*"
        ]
    )


def test_raised_limit_lets_the_suite_load(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A case past a default limit loads once the project raises that limit."""
    project.suite(body="""
        prompts:
          p: "{{ a }}{{ b }}{{ c }}"
        cases:
          - id: one
            counterfactual: { a: [1, 2, 3, 4, 5, 6, 7], b: [1, 2, 3, 4, 5, 6, 7], c: [1, 2, 3, 4, 5, 6, 7] }
            assert: [ { regex: "^[0-9]+$" } ]
    """)  # fmt: skip
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*343 prompts, more than 256 (limits.counterfactual)*"])
    project.config(extra="[tool.promptcheck.limits]\ncounterfactual = 343")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_csv_quoted_cell_may_span_lines(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A closed quoted CSV cell holding a newline is one cell (the next row's line is still right)."""
    (pytester.path / "rows.csv").write_text('id,reply\nmulti,"first\nsecond"\nplain,"say ""hi"""\n')
    project.suite(body="""
        prompts:
          p: "{{ reply }}"
        defaults:
          assert: [ { regex: "^(first\\nsecond|say \\"hi\\")$" } ]
        cases_from: rows.csv
    """)  # fmt: skip
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    items = pytester.getitems(pytester.path / "test_suite.prompts.yaml")
    assert [item.reportinfo()[1] for item in items] == [1, 3]  # 0-based: rows start on lines 2 and 4


def test_jsonl_bom_blank_lines_and_line_separators(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A BOM at the start, blank lines and a U+2028 inside a JSON string are fine; rows keep their lines."""
    rows = [json.dumps({"id": "a", "vars": {"reply": "one\u2028two"}}, ensure_ascii=False), "", "  ", '{"id": "b"}']
    (pytester.path / "rows.jsonl").write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    project.suite(body="""
        prompts:
          p: "{{ reply | default('x') }}"
        cases_from: rows.jsonl
    """)  # fmt: skip
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    items = pytester.getitems(pytester.path / "test_suite.prompts.yaml")
    assert [item.reportinfo()[1] for item in items] == [0, 3]


def test_jsonl_row_nested_past_the_depth_limit(pytester: pytest.Pytester, project: PromptProject) -> None:
    """JSONL rows nested past `limits.depth` (or past the JSON parser's own limit) are errors at their lines."""
    rows = ['{"id": "a", "vars": {"reply": "x"}}']
    rows += [f'{{"id": "{name}", "vars": {{"reply": {"[" * n}{"]" * n}}}}}' for name, n in (("b", 100), ("c", 5000))]
    (pytester.path / "rows.jsonl").write_text("\n".join(rows) + "\n")
    project.suite(body='prompts: {p: "{{ reply }}"}\ncases_from: rows.jsonl\n')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "rows.jsonl:2: row nests objects and lists too deep (limits.depth); flatten it",
        "rows.jsonl:3: row nests objects and lists too deep (limits.depth); flatten it",
    ])  # fmt: skip
    assert "Traceback" not in result.stdout.str()
