"""Malformed suites: each is one collection error at file:line that says what to fix, never a traceback.

The corpus lives in ``tests/malformed/NAME.prompts.yaml`` (files they reference in
``tests/malformed/data/``); each is copied into the pytester project as ``test_NAME.prompts.yaml``
and all are collected by one pytest run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import PromptProject

CORPUS = Path(__file__).parent / "malformed"

# NAME -> (where the error points: a line of test_NAME.prompts.yaml, or "data/FILE:LINE"; a fragment of the
# message, or with "^" the message's start: a problem in `defaults` is reported once, without a case label)
EXPECTED: dict[str, tuple[int | str, str]] = {
    # YAML syntax
    "yaml_unclosed_brace": (5, "the `{` opened at column 11 is never closed"),
    "yaml_unclosed_bracket": (6, "the `[` opened at column 11 is never closed"),
    "yaml_unclosed_quote": (2, "the quote opened at column 6 is never closed"),
    "yaml_bad_indentation": (6, "the keys of the block that starts on line 4 must line up"),
    "yaml_tab_indentation": (5, "indent with spaces, never tabs"),
    "yaml_colon_in_value": (2, "quote a value that holds ': '"),
    "yaml_two_documents": (6, "remove the `---` line"),
    "unquoted_template": (2, "a value that starts with `{{` must be quoted"),
    "duplicate_key": (7, "duplicate key 'vars' (first set on line 5); keep one"),
    "merge_key": (7, "YAML merge keys ('<<') are not part of YAML 1.2; use `defaults:`"),
    "python_object_tag": (5, "unsupported YAML tag '!!python/object:os.system'; a suite holds plain data only"),
    "not_utf8": (2, "the suite is not UTF-8 text (invalid continuation byte); save it as UTF-8"),
    # document shape
    "empty_file": (1, "the suite is empty; a suite is a mapping with `prompts:` and `cases:`"),
    "not_a_mapping": (1, "the suite is a list; a suite is a mapping"),
    "scalar_document": (1, "the suite is a single value"),
    "no_prompts": (1, "the suite has no prompts; add `prompts:`"),
    "no_cases": (1, "the suite has no cases; add a `cases:` list or `cases_from:`"),
    # unknown keys and wrong types (JSON Schema)
    "unknown_top_level_key": (3, "unknown key 'case' in the suite; did you mean 'cases'?"),
    "unknown_case_key": (6, "unknown key 'asserts' in cases[0]; did you mean 'assert'?"),
    "unknown_defaults_key": (4, "unknown key 'model' in defaults; did you mean 'models'?"),
    "unknown_metric": (7, "unknown key 'acuracy' in metrics; did you mean 'accuracy'?"),
    "bad_message_role": (4, "unknown key 'human' in prompts.chat[1]; valid keys: assistant, system, user"),
    "vars_as_list": (5, "cases[0].vars must be a mapping, got a list ['reply', 'hello']"),
    "var_name_with_dash": (5, "'ticket-id' is not a valid variable name"),
    "repeat_as_string": (6, "cases[0].repeat must be an integer or a mapping, got text 'five'"),
    "repeat_min_pass_above_one": (6, "cases[0].repeat.min_pass must be between 0 and 1, got 80"),
    "tags_as_string": (6, "cases[0].tags must be a list, got text 'billing'; write [billing]"),
    "threshold_above_one": (6, "cases[0].threshold must be between 0 and 1, got 90; scores are on a 0-1 scale"),
    "counterfactual_one_value": (6, "counterfactual.name needs at least 2 item(s), got 1"),
    "negative_weight": (8, "cases[0].assert[0].weight must be at least 0, got -1"),
    "case_without_id": (6, "cases[1] is missing required key 'id'; add it"),
    "id_with_spaces": (4, "case id 'double charge' may only hold letters, digits, '_', '.', '-' (no spaces); e.g."),
    "duplicate_case_id": (8, "[case 'one'] duplicate case id 'one' (first used at line 4); ids must be unique"),
    # templates
    "undefined_variable": (5, "[case 'one'] prompt 'guided' (line 3): 'customer' is undefined; define it in"),
    "template_syntax_error": (2, "prompt 'p': template syntax error: unexpected '}'"),
    "include_missing": (2, "prompt 'p': file('prompts/missing.txt') cannot be read"),
    # assertions
    "unknown_assertion": (7, "unknown assertion 'contians'; did you mean 'contains'"),
    "assertion_two_names": (7, "several assertion names ('contains', 'icontains'); write one `name: argument` per"),
    "bad_regex": (7, "`regex` '(unclosed' is not a valid regular expression"),
    "defaults_bad_regex": (5, "^`regex` '[a-z' is not a valid regular expression"),  # once, with no case label
    "json_schema_missing_file": (7, "`json_schema` file 'data/no_such.schema.json' not found"),
    "json_schema_not_json": (7, "`json_schema` file 'data/broken.schema.json' is not valid JSON"),
    "json_schema_invalid_schema": (7, "`json_schema` is not a valid JSON Schema"),
    "json_path_bad_expression": (7, "`json_path` path '$.[[a' is not valid JSONPath"),
    "contains_list_argument": (7, "`contains` needs a text argument, got list ['hello', 'world']"),
    "is_json_with_argument": (7, "`is_json` takes no argument; write it bare"),
    "fuzzy_min_above_one": (7, "`fuzzy` min is a score between 0 and 1"),
    # models and tags
    "unknown_model": (6, "[case 'one'] unknown model 'gpt5' (configured: echo); define [tool.promptcheck.model.gpt5]"),
    "unknown_model_in_defaults": (4, "^unknown model 'tuned' (configured: echo)"),  # once, with no case label
    "tag_skip_marker": (6, "[case 'one'] tag 'skip' collides with pytest's own `skip` marker"),
    "tag_parametrize_in_defaults": (4, "^tag 'parametrize' collides with pytest's own `parametrize` marker"),
    # referenced files
    "cases_from_missing": (3, "cases_from: file 'data/no_such_cases.jsonl' cannot be read"),
    "cases_from_wrong_suffix": (3, "cases_from: 'data/cases.txt' must be a .jsonl file"),
    "cases_from_bad_json_row": ("data/bad_row.jsonl:2", "row is not valid JSON"),
    "cases_from_row_not_object": ("data/row_not_object.jsonl:2", "is not a JSON object"),
    "cases_from_unknown_key": ("data/unknown_key.jsonl:3", "unknown key 'var' in the row; did you mean 'vars'?"),
    "prompts_from_missing": (1, "prompts_from: folder 'no_such_prompts/' not found"),
    # strict cases_from files (issue 14)
    "cases_from_not_utf8": ("data/not_utf8.jsonl:3", "^not UTF-8 text (invalid continuation byte); save it as UTF-8"),
    "cases_from_csv_unterminated_quote": (
        "data/csv_unterminated_quote.csv:3",
        "^a quoted cell opened on this row never closes",
    ),
    "cases_from_csv_duplicate_header": (
        "data/csv_duplicate_header.csv:1",
        "column 'reply' is in the header twice (columns 2 and 3)",
    ),
    "cases_from_csv_empty_header": ("data/csv_empty_header.csv:1", "column 3 of the header has no name; name it"),
    "cases_from_csv_short_row": ("data/csv_short_row.csv:3", "row has 2 cells, fewer than the header's 3 columns"),
    "cases_from_csv_long_row": ("data/csv_long_row.csv:4", "row has 3 cells, more than the header's 2 columns"),
    "cases_from_csv_header_only": (
        "data/csv_header_only.csv:1",
        "the file has a header but no rows; add one row per case",
    ),
    "cases_from_jsonl_duplicate_key": (
        "data/jsonl_duplicate_key.jsonl:2",
        "row sets key 'reply' twice in one object; keep one",
    ),
    "cases_from_jsonl_bom_inside": (
        "data/jsonl_bom_inside.jsonl:2",
        "a byte order mark (BOM) starts this row; only the file",
    ),
    "cases_from_jsonl_number_var_name": ("data/jsonl_number_var_name.jsonl:4", "'1' is not a valid variable name"),
    # names that YAML reads as numbers, booleans (issue 14)
    "var_name_number": (5, "^var name 1 is a number; quote it or use a name like v1"),
    "var_name_bool_in_counterfactual": (7, "^var name true is true or false; quote it or use a name like vtrue"),
    "prompt_name_number": (3, '^key 2 is a number, not text; quote it ("2")'),
    # size limits (issue 14; [tool.promptcheck.limits])
    "repeat_above_limit": (
        6,
        "[case 'two'] repeat 100000000000 is more than 1000 samples (limits.repeat); use fewer or raise",
    ),
    "repeat_n_above_limit": (6, "[case 'one'] repeat 5000 is more than 1000 samples (limits.repeat)"),
    "counterfactual_above_limit": (4, "7 x 7 x 7 = 343 prompts, more than 256 (limits.counterfactual)"),
    "yaml_nesting_too_deep": (6, "^the suite nests mappings and lists more than 64 levels deep (limits.depth)"),
    "yaml_alias_bomb": (
        9,
        "^YAML aliases expand to more than 2000000 values (limits.yaml_nodes); a suite holds no alias",
    ),
}


def _copy_corpus(pytester: pytest.Pytester, names: list[str]) -> None:
    for name in names:
        shutil.copyfile(CORPUS / f"{name}.prompts.yaml", pytester.path / f"test_{name}.prompts.yaml")
    shutil.copytree(CORPUS / "data", pytester.path / "data")


def _where(name: str) -> str:
    where = EXPECTED[name][0]
    return where if isinstance(where, str) else f"test_{name}.prompts.yaml:{where}"


def _says(line: str, where: str, fragment: str) -> bool:
    if fragment.startswith("^"):
        return line.startswith(f"{where}: {fragment[1:]}")
    return line.startswith(f"{where}: ") and fragment in line


def test_corpus_and_table_agree() -> None:
    """Every corpus file has an expected error in the table, and every table entry has its file."""
    on_disk = {p.name.removesuffix(".prompts.yaml") for p in CORPUS.glob("*.prompts.yaml")}
    extra, missing = on_disk - set(EXPECTED), set(EXPECTED) - on_disk
    assert not extra and not missing, f"only on disk: {extra}; only in the table: {missing}"


def test_each_malformed_suite_is_one_collection_error_at_file_line(
    pytester: pytest.Pytester, project: PromptProject
) -> None:
    """Each corpus suite yields one collection error naming file:line and the fix; no traceback anywhere."""
    _copy_corpus(pytester, sorted(EXPECTED))
    result = pytester.runpytest("-p", "no:cacheprovider")
    lines = result.outlines
    broken = []
    for name, (_, fragment) in sorted(EXPECTED.items()):
        where = _where(name)
        at_file = [line for line in lines if line.startswith((f"test_{name}.prompts.yaml", where.split(":")[0]))]
        if len(at_file) != 1 or not _says(at_file[0], where, fragment):
            broken.append(f"{name}: expected one line '{where}: ...{fragment}...', got {at_file}")
    assert not broken, "malformed suites not reported as expected:\n" + "\n".join(broken)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert result.parseoutcomes().get("errors") == len(EXPECTED)
    text = "\n".join(lines + result.errlines)
    for leak in ("Traceback", "site-packages", "pytest_promptcheck/", "LineDict", "LineList"):
        assert leak not in text, f"{leak!r} in the output:\n{text}"


def test_collect_only_reports_only_the_broken_suite(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`--collect-only -q` lists the valid suite's items and exactly one error for the broken one."""
    project.suite("test_valid", """
        prompts:
          p: "{{ reply }}"
        cases:
          - id: one
            vars: { reply: hello }
            assert: [ { contains: hello } ]
    """)  # fmt: skip
    _copy_corpus(pytester, ["unknown_case_key"])
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "test_valid.prompts.yaml::one?echo?",
        "test_unknown_case_key.prompts.yaml:6: unknown key 'asserts' in cases?0?; did you mean 'assert'*",
        "*1 error*",
    ])  # fmt: skip
    assert result.parseoutcomes().get("errors") == 1
    assert "Traceback" not in result.stdout.str()


def test_every_problem_of_a_suite_is_listed(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A suite with several schema problems reports all of them at once, each at its own line."""
    project.suite("test_many", """
        prompts:
          p: "{{ reply }}"
        cases:
          - id: one
            vars: { reply: hello }
            repeat: 0
          - id: two
            vars: { reply: hello }
            tags: billing
    """)  # fmt: skip
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "2 problem(s) in this suite; fix them and run again:",
        "test_many.prompts.yaml:6: cases[0].repeat must be at least 1, got 0",
        "test_many.prompts.yaml:9: cases[1].tags must be a list, got text 'billing'; write [billing]",
    ])  # fmt: skip
