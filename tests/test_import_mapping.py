"""The promptfoo assertion table alone (pure data → data): no pytest run, no plugin."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import pytest_promptcheck.importers as importers
from pytest_promptcheck.importers.mapping import APPROXIMATED, MAPPED, UNSUPPORTED, expected_column, map_assertion


@pytest.mark.parametrize(
    ("values", "output", "any_ok", "all_ok"),
    [
        (["Foo", "bar"], "FOO and BAR", True, True),
        (["foo", "baz"], "Foo only", True, False),
        (["a.b"], "axb", False, False),
    ],
)
def test_case_blind_lists_keep_promptfoo_semantics(values: list[str], output: str, any_ok: bool, all_ok: bool) -> None:
    """icontains-any/-all become regexes that agree with a lower-cased substring test (dots are literal)."""
    (any_,) = map_assertion({"type": "icontains-any", "value": values}, None)
    (all_,) = map_assertion({"type": "icontains-all", "value": values}, None)
    assert any_.entry and all_.entry and any_.status == all_.status == MAPPED
    assert bool(re.search(any_.entry["regex"], output)) is any_ok
    assert bool(re.search(all_.entry["regex"], output)) is all_ok


def test_not_weight_metric_and_statuses() -> None:
    """`not-` → not: true; weight and metric kept; graded types approximate; unknown ones unsupported."""
    (neg,) = map_assertion({"type": "not-contains", "value": "x", "weight": 2, "metric": "safety"}, None)
    assert neg.entry == {"contains": "x", "not": True, "weight": 2.0, "message": "safety"}
    (judge,) = map_assertion({"type": "llm-rubric", "value": "is polite", "threshold": 0.7}, "grader")
    assert (judge.entry, judge.status) == (
        {"judge": {"rubric": "is polite", "model": "grader", "min": 0.7}},
        APPROXIMATED,
    )
    assert map_assertion({"type": "javascript", "value": "output.length"}, None)[0].status == UNSUPPORTED
    assert map_assertion({"type": "no-such-type"}, None)[0].entry is None
    assert map_assertion({"type": "latency"}, None)[0].status == UNSUPPORTED  # a latency without threshold


def test_expected_column_prefixes() -> None:
    """CSV `__expected` cells: prefixes name the type, `not-` negates it, a bare value is equals."""
    assert expected_column("contains: moo") == {"type": "contains", "value": "moo"}
    assert expected_column("not-icontains: x") == {"type": "not-icontains", "value": "x"}
    assert expected_column("contains-any: a, b") == {"type": "contains-any", "value": ["a", "b"]}
    assert expected_column("is-json") == {"type": "is-json"}
    assert expected_column("plain text") == {"type": "equals", "value": "plain text"}


def test_importers_import_no_pytest_and_no_plugin() -> None:
    """The importers are pure: neither pytest nor the plugin's collection side is imported there."""
    for module in Path(importers.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n == "pytest" or n.startswith(("pytest.", "_pytest")) for n in names), module
                assert not any(n.split(".")[0] in ("plugin", "items", "listeners") for n in names), module


@pytest.mark.parametrize(
    ("kind", "code", "entry"),
    [
        ("javascript", "output.length < 10", {"length": {"max": 9}}),
        ("javascript", "return output.includes('ok');", {"contains": "ok"}),
        ("javascript", "!output.toLowerCase().includes('no')", {"icontains": "no", "not": True}),
        ("not-javascript", "!output.includes('a')", {"contains": "a"}),  # two negations cancel
        ("javascript", "output.startsWith('a.b')", {"regex": r"^a\.b"}),
    ],
)
def test_javascript_one_liners(kind: str, code: str, entry: dict[str, object]) -> None:
    """The JavaScript one-liners with a plain equivalent map to it (approximated: JS string semantics)."""
    (mapped,) = map_assertion({"type": kind, "value": code}, None)
    assert (mapped.entry, mapped.status) == (entry, APPROXIMATED)
