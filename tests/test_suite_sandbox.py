"""Templates render in a sandbox with budgets: no Python internals, no runaway loops or strings."""

from __future__ import annotations

import pytest

from conftest import PromptProject


def _suite(project: PromptProject, name: str, prompt: str, case: str = "vars: {x: a}") -> None:
    project.suite(name, body=f'prompts:\n  p: "{prompt}"\ncases:\n  - id: a\n    {case}\n')


def test_python_internals_are_refused(pytester: pytest.Pytester, project: PromptProject) -> None:
    """`__mro__`, `self.__init__.__globals__`, mutation, a counterfactual var's payload (at its case): errors."""
    _suite(project, "test_mro", "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    _suite(project, "test_self", "{{ self.__init__.__globals__ }}")
    _suite(project, "test_mutate", "{{ [1].append(2) }}")
    cf = 'vars: {x: "{{ name.__class__ }}"}\n    counterfactual: {name: [Ann, Bo]}'
    _suite(project, "test_cf", "{{ x }}", case=cf)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=4)
    tail = "; a template may use vars, filters and `file()` only"
    result.stdout.fnmatch_lines_random([
        "test_mro.prompts.yaml:2: prompt 'p': template tries to reach Python internals (`__class__`)" + tail,
        "test_self.prompts.yaml:2: prompt 'p': template tries to reach Python internals (`__init__`)" + tail,
        "test_mutate.prompts.yaml:2: prompt 'p': template tries to reach `append`, which changes data" + tail,
        "test_cf.prompts.yaml:4: ?case 'a'? prompt 'p' (line 2): vars.x: template tries to reach Python internals (`__class__`)" + tail,
    ])  # fmt: skip


def test_budgets_stop_runaway_templates(pytester: pytest.Pytester, project: PromptProject) -> None:
    """range(), nested loops, `*`, `**`, padding and a long message: each an error naming its limit key."""
    project.config(extra="[tool.promptcheck.limits]\nrendered_chars = 50\ntemplate_steps = 1000")
    _suite(project, "test_range", "{% for i in range(10**8) %}{% endfor %}")
    _suite(project, "test_nested", "{% for i in range(999) %}{% for j in range(999) %}{% endfor %}{% endfor %}")
    _suite(project, "test_times", "{{ 'x' * 10**10 }}")
    _suite(project, "test_power", "{{ 2 ** (10**10) }}")
    _suite(project, "test_center", "{{ x|center(10**10) }}")
    _suite(project, "test_long", "{{ x * 51 }}")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=6)
    result.stdout.fnmatch_lines_random([
        "test_range.prompts.yaml:2: prompt 'p': range(100000000) has 100000000 items, over limits.template_steps = 1000;*",
        "test_nested.prompts.yaml:2: prompt 'p': the template takes more than limits.template_steps = 1000 steps*",
        "test_times.prompts.yaml:2: prompt 'p': `*` makes 10000000000 characters*more than 400 characters in all (8 x limits.rendered_chars = 50)*",
        "test_power.prompts.yaml:2: prompt 'p': `**` makes a number of * characters*limits.rendered_chars*",
        "test_center.prompts.yaml:2: prompt 'p': the `center` filter makes 10000000000 characters*",
        "test_long.prompts.yaml:4: ?case 'a'? prompt 'p' (line 2): the rendered message has 51 characters, "
        "over limits.rendered_chars = 50; *raise the limit under ?tool.promptcheck.limits?",
    ])  # fmt: skip


def test_ordinary_templates_still_render(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Loops, filters, macros, joins, format and namespaces work in the sandbox; one more item past the budget is refused."""
    project.config(extra="[tool.promptcheck.limits]\ntemplate_steps = 40")
    template = (
        "{% macro b(s) %}[{{ s }}]{% endmacro %}{% set ns = namespace(n=0) %}"
        "{% for w in words %}{% set ns.n = ns.n + 1 %}{{ b(w|upper) }}{% endfor %}"
        "{{ ns.n }} {{ words|join(',') }} {{ '%s-%s'|format(1, 2) }} {{ '{}!'.format(x) ~ x * 2 }}"
    )
    case = 'vars: {x: a, words: [p, q]}\n    assert: [{equals: "[P][Q]2 p,q 1-2 a!aa"}]'
    _suite(project, "test_ok", template, case=case)
    _suite(project, "test_over", template, case=case.replace("[p, q]", "[p, q, r]"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["test_over.prompts.yaml:2: prompt 'p': the template takes more than limits.template_steps = 40 steps*"]
    )
