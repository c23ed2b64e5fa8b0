"""cases_from files and keys a careless export writes: broken CSV, bad UTF-8, odd or repeated keys."""

from __future__ import annotations

from . import Hostile

_SUITE = 'prompts:\n  p: "{{ reply }}"\ncases_from: data/{name}\n'


def _from(name: str, data: str | bytes) -> dict[str, str | bytes]:
    return {"test_rows.prompts.yaml": _SUITE.format(name=name), f"data/{name}": data}


ENTRIES = [
    Hostile(
        name="case_files_csv_unterminated_quote",
        files=_from("rows.csv", 'id,reply\na,one\nb,"two\nc,three\nd,four\n'),
        expect=("data/rows.csv:3: a quoted cell opened on this row never closes (the file ends inside the quote)*",),
        timeout=20,
        note="the csv module alone would make rows b-d one cell: 4 rows, 2 cases, no error",
    ),
    Hostile(
        name="case_files_csv_duplicate_header",
        files=_from("rows.csv", "id,reply,question,reply\na,one,q,two\n"),
        expect=("data/rows.csv:1: column 'reply' is in the header twice (columns 2 and 4); rename one",),
        timeout=20,
    ),
    Hostile(
        name="case_files_csv_ragged_row",
        files=_from("rows.csv", "id,reply\na,one\nb,two,2\nc\n"),
        expect=(
            "data/rows.csv:3: row has 3 cells, more than the header's 2 columns*",
            "data/rows.csv:4: row has 1 cells, fewer than the header's 2 columns*",
        ),
        timeout=20,
    ),
    Hostile(
        name="case_files_jsonl_bad_utf8",
        files=_from(
            "rows.jsonl", b'{"id": "a", "vars": {"reply": "x"}}\n\n{"id": "b", "vars": {"reply": "\xff\xfe"}}\n'
        ),
        expect=("data/rows.jsonl:3: not UTF-8 text (invalid start byte); save it as UTF-8",),
        timeout=20,
    ),
    Hostile(
        name="case_files_jsonl_duplicate_keys",
        files=_from("rows.jsonl", '{"id": "a", "vars": {"reply": "x"}, "id": "b"}\n'),
        expect=("data/rows.jsonl:1: row sets key 'id' twice in one object; keep one",),
        timeout=20,
    ),
    Hostile(
        name="case_files_jsonl_number_var_names",
        files=_from("rows.jsonl", '{"id": "a", "vars": {"reply": "x", "1": "one", "2.5": "two"}}\n'),
        expect=("data/rows.jsonl:1: vars: '1' is not a valid variable name*",),
        timeout=20,
    ),
    Hostile(
        name="case_files_yaml_int_and_bool_var_names",
        files={
            "test_names.prompts.yaml": 'prompts:\n  p: "{{ reply }}"\ncases:\n  - id: a\n    vars: {reply: x, 1: one, true: yes}\n'
        },
        expect=("test_names.prompts.yaml:5: var name 1 is a number; quote it or use a name like v1",),
        timeout=20,
        note="as Python keys 1 and true are one key; rendering with a number as a keyword was a TypeError",
    ),
    Hostile(
        name="case_files_yaml_null_counterfactual_name",
        files={
            "test_null.prompts.yaml": 'prompts:\n  p: "{{ reply }}"\ncases:\n  - id: a\n    vars: {reply: x}\n'
            "    counterfactual:\n      ~: [a, b]\n"
        },
        expect=("test_null.prompts.yaml:7: var name ~ is null; quote it or use a name like v1",),
        timeout=20,
    ),
]
