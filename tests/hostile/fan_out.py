"""Suites that plan an endless number of calls: huge repeats, counterfactual products (limits.*)."""

from __future__ import annotations

from . import Hostile

_PROMPT = 'prompts:\n  p: "{{ reply }}"\n'
_LETTERS = "abcdefghijklmnopqrst"  # 20 var names


def _counterfactual_product() -> str:
    """20 swapped vars of 10 values each: 10**20 prompts to render."""
    swaps = "".join(f"      {name}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n" for name in _LETTERS)
    return _PROMPT + "cases:\n  - id: one\n    vars: { reply: hi }\n    counterfactual:\n" + swaps


def _many_variants_and_cases() -> str:
    """50 variants x 100 cases x 256 swapped values: 1.28 million prompts, each within its own limit."""
    variants = "".join(f'  v{i}: "{{{{ a }}}}{{{{ b }}}} {i}"\n' for i in range(50))
    values = "[" + ", ".join(map(str, range(16))) + "]"
    cases = "".join(f"  - id: c{i}\n" for i in range(100))
    return f"prompts:\n{variants}defaults:\n  counterfactual:\n    a: {values}\n    b: {values}\ncases:\n{cases}"


ENTRIES = [
    Hostile(
        name="fan_out_repeat_hundred_billion",
        files={
            "test_repeat.prompts.yaml": _PROMPT
            + "cases:\n  - id: one\n    vars: { reply: hi }\n    repeat: 100000000000\n"
        },
        expect=(
            "test_repeat.prompts.yaml:4: [[]case 'one'[]] repeat 100000000000 is more than 1000 samples "
            "(limits.repeat); use fewer or raise [[]tool.promptcheck.limits[]] repeat",
        ),
        timeout=20,
        note="10**11 samples of one call would never finish",
    ),
    Hostile(
        name="fan_out_repeat_n_huge",
        files={
            "test_repeat_n.prompts.yaml": _PROMPT
            + "defaults:\n  repeat: { n: 99999999999999999999, min_pass: 0.5 }\ncases:\n  - id: one\n    vars: { reply: hi }\n"
        },
        expect=(
            "test_repeat_n.prompts.yaml:6: [[]case 'one'[]] repeat 99999999999999999999 is more than 1000 samples*",
        ),
        timeout=20,
    ),
    Hostile(
        name="fan_out_counterfactual_20_keys_10_values",
        files={"test_swaps.prompts.yaml": _counterfactual_product()},
        expect=(
            "test_swaps.prompts.yaml:4: [[]case 'one'[]] counterfactual values make 10 x 10 x * = "
            "100000000000000000000 prompts, more than 256 (limits.counterfactual); swap fewer values*",
        ),
        timeout=20,
        note="itertools.product over 20 lists of 10 values would render forever",
    ),
    Hostile(
        name="fan_out_prompts_past_the_calls_limit",
        files={"test_wide.prompts.yaml": _many_variants_and_cases()},
        expect=("test_wide.prompts.yaml:*: [[]case 'c*'[]] the suite plans more than 1000000 calls by this case*",),
        timeout=20,
        note="every case within limits.counterfactual, the suite as a whole past limits.calls before rendering",
    ),
    Hostile(
        name="fan_out_pc_repeat_billion",
        files={"test_ok.prompts.yaml": _PROMPT + "cases:\n  - id: one\n    vars: { reply: hi }\n"},
        args=("--pc-repeat", str(10**9)),
        expect=("ERROR: --pc-repeat 1000000000 is more than 1000 samples (limits.repeat); pass a smaller N*",),
        status=4,
        timeout=20,
    ),
]
