"""Collection: item ids, selection (-k, -m, --lf, -x), --collect-only, junitxml, reportinfo."""

from __future__ import annotations

import pytest

from conftest import PromptProject

TWO_VARIANTS = """
    prompts:
      short: "{{ reply }}"
      long:
        - system: "Be brief."
        - user: "{{ reply }}"
    cases:
      - id: refund
        tags: [billing, critical]
        vars: { reply: "refund ok" }
        assert: [ { contains: refund } ]
      - id: login
        tags: [account]
        vars: { reply: "reset your password" }
        assert: [ { contains: refund } ]
"""


def test_item_ids_name_case_variant_and_model(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Ids are file::case[variant-model]; the variant part is dropped when a file has one variant."""
    project.config({"a": "app:echo", "b": "app:echo_upper"})
    project.suite("test_two", TWO_VARIANTS)
    project.suite("test_one", 'prompts: {p: "{{ x }}"}\ncases: [{id: c1, vars: {x: hi}}]\n')
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "test_one.prompts.yaml::c1[[]a[]]",
            "test_one.prompts.yaml::c1[[]b[]]",
            "test_two.prompts.yaml::refund[[]short-a[]]",
            "test_two.prompts.yaml::refund[[]short-b[]]",
            "test_two.prompts.yaml::refund[[]long-a[]]",
            "test_two.prompts.yaml::login[[]long-b[]]",
            "10 tests collected*",
        ]
    )


def test_tags_are_markers_under_strict_markers(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`-m critical` selects tagged cases and --strict-markers accepts tags as registered markers."""
    project.suite("test_two", TWO_VARIANTS)
    result = pytester.runpytest("-m", "critical", "--strict-markers", "-v")
    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines(["*refund?short-echo? PASSED*", "*refund?long-echo? PASSED*"])


def test_tags_show_in_markers_help(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Tags are registered markers, so `-m 'not account'` works and selects the rest."""
    project.suite("test_two", TWO_VARIANTS)
    result = pytester.runpytest("-m", "not account")
    result.assert_outcomes(passed=2, deselected=2)


def test_keyword_selection(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`-k` matches case ids and variant names inside the item name."""
    project.suite("test_two", TWO_VARIANTS)
    result = pytester.runpytest("-k", "login and long")
    result.assert_outcomes(failed=1, deselected=3)


def test_last_failed_reruns_only_failures(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`--lf` reruns only the items that failed in the previous run."""
    project.suite("test_two", TWO_VARIANTS)
    pytester.runpytest().assert_outcomes(passed=2, failed=2)
    result = pytester.runpytest("--lf", "-v")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["run-last-failure: rerun previous 2 failures*", "*login?short-echo? FAILED*"])
    result.stdout.no_fnmatch_line("*refund?short-echo?*")


def test_exitfirst_stops_after_first_failure(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`-x` stops the session at the first failing prompt item."""
    project.suite("test_two", TWO_VARIANTS)
    result = pytester.runpytest("-x")
    result.assert_outcomes(passed=2, failed=1)


def test_junitxml_has_properties(pytester: pytest.Pytester, project: PromptProject) -> None:
    """--junitxml lists prompt items with the model, variant and output as properties."""
    project.suite("test_two", TWO_VARIANTS)
    pytester.runpytest("--junitxml=out.xml")
    xml = (pytester.path / "out.xml").read_text()
    assert 'name="refund[short-echo]"' in xml
    assert '<property name="promptcheck_model" value="echo"' in xml
    assert '<property name="promptcheck_output" value="reset your password"' in xml
    assert xml.count("<failure") == 2


def test_reportinfo_points_at_the_case_line(pytester: pytest.Pytester, project: PromptProject) -> None:
    """An item's location is the suite file and the case's own line (0-based for pytest)."""
    project.suite("test_two", TWO_VARIANTS)
    items = pytester.getitems(pytester.path / "test_two.prompts.yaml")
    by_name = {item.name: item for item in items}
    path, lineno, _ = by_name["login[long-echo]"].reportinfo()
    assert path.name == "test_two.prompts.yaml"
    lines = (pytester.path / "test_two.prompts.yaml").read_text().splitlines()
    assert lines[lineno].strip() == "- id: login"


def test_case_models_intersect_with_cli_selection(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A case's `models` limit where it runs, and --pc-models narrows that further."""
    project.config({"a": "app:echo", "b": "app:echo", "c": "app:echo"})
    project.suite(
        "test_m",
        """
        prompts: {p: "{{ x }}"}
        cases:
          - id: only-ab
            models: [a, b]
            vars: {x: hi}
          - id: all
            vars: {x: hi}
    """,
    )
    result = pytester.runpytest("--collect-only", "-q", "--pc-models", "b,c")
    result.stdout.fnmatch_lines(["*only-ab[[]b[]]", "*all[[]b[]]", "*all[[]c[]]", "3 tests collected*"])


def test_snapshot_and_cassette_folders_are_not_collected(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Files under __snapshots__/ and cassettes/ are never suites, whatever their names."""
    body = 'prompts: {p: "{{ x }}"}\ncases: [{id: c, vars: {x: hi}}]\n'
    for folder in ("__snapshots__", "cassettes"):
        (pytester.path / folder).mkdir()
        (pytester.path / folder / "test_x.prompts.yaml").write_text("not: [valid")
    project.suite("test_real", body)
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["1 test collected*"])


def test_counterfactual_and_repeat_are_calls_inside_one_item(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Counterfactual values and repeats run inside one item; one failing value fails the item."""
    project.suite(
        "test_cf",
        """
        prompts: {p: "{{ ticket }}"}
        cases:
          - id: names
            vars: { ticket: "{{ name }} reports a crash" }
            counterfactual: { name: [Emily, Jamal, Wei] }
            repeat: 2
            assert: [ { not_contains: Jamal } ]
    """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*2 of 6 calls failed*",
            "*call (sample 0, name='Jamal')*",
            "*output: Jamal reports a crash*",
        ]
    )
