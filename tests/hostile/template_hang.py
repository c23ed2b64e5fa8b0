"""Templates that would run for hours or fill memory: each stopped by a limit it names, in seconds."""

from __future__ import annotations

from . import PYPROJECT, Hostile

_WHERE = "test_x.prompts.yaml:2: prompt 'p': "


def _entry(name: str, template: str, expect: str, note: str, pyproject: str = PYPROJECT) -> Hostile:
    suite = f"prompts:\n  p: |\n    {template}\ncases:\n  - id: one\n"
    return Hostile(
        name=name,
        files={"test_x.prompts.yaml": suite, "pyproject.toml": pyproject},
        expect=(_WHERE + expect,),
        timeout=30,
        note=note,
    )


ENTRIES: list[Hostile] = [
    _entry("range_huge", "{% for i in range(10**8) %}.{% endfor %}",
           "range(100000000) has 100000000 items, over limits.template_steps = 1000000;*", "a hundred million iterations"),
    _entry("string_times_huge", "{{ 'x' * 10**10 }}",
           "`*` makes 10000000000 characters*limits.rendered_chars*", "ten gigabytes in one product"),
    _entry("file_dev_zero", "{{ file('/dev/zero') }}",
           "file('/dev/zero') is a device, not a regular file*", "an endless read, even where /dev is allowed",
           pyproject=PYPROJECT.replace('models = ["echo"]', 'models = ["echo"]\nallow_paths = ["/dev"]')),
    _entry("nested_loops", "{% for i in range(10**4) %}{% for j in range(10**4) %}{% endfor %}{% endfor %}",
           "the template takes more than limits.template_steps = 1000000 steps*", "10**8 iterations, each loop small"),
    _entry("power_tower", "{{ 9 ** (9 ** 9) }}",
           "`**` makes a number of * characters*limits.rendered_chars*", "a number of 370 million digits"),
    _entry("macro_doubling", "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}",
           "the template takes more than limits.template_steps = 1000000 steps*", "2**60 calls and no loop"),
    _entry("namespace_doubling",
           "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
           "* characters*limits.rendered_chars*", "a string doubled 64 times, 64 steps"),
    _entry("format_width", "{{ '%999999999999s' % 'x' }}",
           "a `%` format width asks for 999999999999 characters*", "a terabyte of padding"),
]  # fmt: skip
