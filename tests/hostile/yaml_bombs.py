"""YAML that stands for far more than it holds: alias bombs, deep nesting, a huge file (limits.*)."""

from __future__ import annotations

from . import Hostile

_HEAD = 'prompts:\n  p: "{{ reply }}"\ncases:\n  - id: one\n    vars:\n      reply: hello\n'


def _laughs() -> str:
    """The classic "billion laughs": 9 levels of 9 aliases each, 10**9 strings once expanded."""
    lines = ['      l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"      l{level}: &l{level} [{refs}]")
    return _HEAD + "\n".join(lines) + "\n"


def _huge_list_aliased() -> str:
    """One anchored list of 5,000 values, then 500 aliases to it: 2.5 million values from 20 KB."""
    values = ", ".join(f"v{i}" for i in range(5000))
    copies = ", ".join(["*big"] * 500)
    return _HEAD + f"      big: &big [{values}]\n      copies: [{copies}]\n"


def _many_aliases() -> str:
    """1,001 aliases of one scalar: tiny expansion, but past `limits.yaml_aliases`."""
    return _HEAD + "      x: &x hi\n      many: [" + ", ".join(["*x"] * 1001) + "]\n"


ENTRIES = [
    Hostile(
        name="yaml_billion_laughs",
        files={"test_lol.prompts.yaml": _laughs()},
        expect=(
            "test_lol.prompts.yaml:13: YAML aliases expand to more than 2000000 values (limits.yaml_nodes); a suite "
            "holds no alias bombs * raise [[]tool.promptcheck.limits[]] yaml_nodes",
        ),
        timeout=20,
        note="10**9 values from 11 lines must be refused from the event stream, before anything expands them",
    ),
    Hostile(
        name="yaml_huge_list_aliased_many_times",
        files={"test_copies.prompts.yaml": _huge_list_aliased()},
        expect=("test_copies.prompts.yaml:8: YAML aliases expand to more than 2000000 values (limits.yaml_nodes)*",),
        timeout=20,
        note="few aliases, each naming a big node",
    ),
    Hostile(
        name="yaml_alias_uses_past_the_limit",
        files={"test_many.prompts.yaml": _many_aliases()},
        expect=("test_many.prompts.yaml:8: YAML aliases are used more than 1000 times (limits.yaml_aliases)*",),
        timeout=20,
    ),
    Hostile(
        name="yaml_flow_nesting_100000_deep",
        files={"test_deep.prompts.yaml": _HEAD + "      deep: " + "[" * 100_000 + "]" * 100_000 + "\n"},
        expect=("test_deep.prompts.yaml:7: invalid YAML: exceeded maximum nesting depth*limits.depth*",),
        timeout=20,
        note="a recursive builder would hit RecursionError (a traceback)",
    ),
    Hostile(
        name="yaml_block_nesting_past_the_depth_limit",
        files={
            "test_block.prompts.yaml": _HEAD
            + "".join(" " * (6 + 2 * i) + f"k{i}:\n" for i in range(200))
            + " " * 406
            + "v: 1\n"
        },
        expect=(
            "test_block.prompts.yaml:68: the suite nests mappings and lists more than 64 levels deep (limits.depth); "
            "flatten it or raise [[]tool.promptcheck.limits[]] depth",
        ),
        timeout=20,
    ),
    Hostile(
        name="yaml_suite_of_20_mb",
        files={},
        setup=(
            "{ printf 'prompts:\\n  p: \"{{ reply }}\"\\ncases:\\n'; "
            "yes '  - {id: same, vars: {reply: hello}}' | head -c 20000000; } > test_big.prompts.yaml",
        ),
        expect=(
            "test_big.prompts.yaml: suite 'test_big.prompts.yaml' holds 200000?? bytes or more, over limits.suite_bytes = 16777216;*",
        ),
        timeout=20,
        note="refused by its size before it is parsed (libyaml would take many seconds on it)",
    ),
]
