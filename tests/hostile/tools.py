"""Suites whose tools attack the loader: files out of the project, schema bombs, endless tool lists (issue 16).

Every tool list is read and checked at collection (suites/tools.py): ``tools_from`` under the same
file rules as every suite file, the YAML limits on aliases and depth, ``limits.tools`` on the count,
and a tool's ``parameters`` must be a self-contained JSON Schema.
"""

from __future__ import annotations

from . import Hostile

_CASES = 'prompts:\n  p: "go"\ncases:\n  - id: one\n'
_OUTSIDE = (
    "*lies outside the project (*; it resolves to /etc/passwd); list extra folders in ?tool.promptcheck? allow_paths"
)


def _laughs(levels: int = 12) -> str:
    """A tools_from file whose one tool's schema expands ten-fold per alias level (10**12 nodes)."""
    lines = ["- name: bomb", "  parameters:", "    type: object", "    x0: &x0 [a, a, a, a, a, a, a, a, a, a]"]
    for i in range(1, levels):
        refs = ", ".join([f"*x{i - 1}"] * 10)
        lines.append(f"    x{i}: &x{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _many_tools(count: int) -> str:
    return "tools:\n" + "".join(f"  - {{ name: t{i} }}\n" for i in range(count)) + _CASES


ENTRIES = [
    Hostile(
        name="tools_from_dotdot_escape",
        files={"test_x.prompts.yaml": "tools_from: ../../../../../../../../etc/passwd\n" + _CASES},
        expect=("test_x.prompts.yaml:1: tools_from: file '../../../../../../../../etc/passwd'" + _OUTSIDE,),
        timeout=30,
        note="tools_from climbs out of the project to send a system file as tool definitions",
    ),
    Hostile(
        name="tools_from_symlink_out",
        files={"test_x.prompts.yaml": "tools_from: tools.yaml\n" + _CASES},
        setup=("ln -s /etc/passwd tools.yaml",),
        expect=("test_x.prompts.yaml:1: tools_from: file 'tools.yaml'" + _OUTSIDE,),
        timeout=30,
        note="an innocent name, a symlink to outside",
    ),
    Hostile(
        name="tools_from_alias_bomb",
        files={"test_x.prompts.yaml": "tools_from: tools.yaml\n" + _CASES, "tools.yaml": _laughs()},
        expect=("tools.yaml:*YAML aliases expand to more than * values (limits.yaml_nodes)*",),
        timeout=30,
        note="a billion-laughs tool schema in the tools file: the suite's YAML limits apply to it too",
    ),
    Hostile(
        name="tools_invalid_schema",
        files={
            "test_x.prompts.yaml": "tools:\n  - name: a\n    parameters: { type: object, properties: { x: { type: 5 } } }\n"
            + _CASES
        },
        expect=("test_x.prompts.yaml:3: tool 'a': parameters is not a valid JSON Schema at properties.x.type*",),
        timeout=30,
        note="a schema the API would answer with 400 in the middle of a run",
    ),
    Hostile(
        name="tools_schema_remote_ref",
        files={
            "test_x.prompts.yaml": "tools:\n  - name: a\n    parameters: { type: object, $ref: 'http://169.254.169.254/latest/' }\n"
            + _CASES
        },
        expect=(
            "test_x.prompts.yaml:3: tool 'a': parameters refer to 'http://169.254.169.254/latest/'*self-contained*",
        ),
        timeout=30,
        note="a $ref that a validator would fetch (a cloud metadata address)",
    ),
    Hostile(
        name="tools_args_schema_file_ref",
        files={
            "test_x.prompts.yaml": 'prompts:\n  p: "go"\ncases:\n  - id: one\n    assert:\n'
            "      - tool_call: { name: a, args_schema: { $ref: 'file:///etc/passwd' } }\n"
        },
        expect=("test_x.prompts.yaml:6: *`tool_call` args_schema refers to 'file:///etc/passwd'*",),
        timeout=30,
        note="an assertion's schema that would read a local file while judging",
    ),
    Hostile(
        name="tools_list_beyond_limit",
        files={"test_x.prompts.yaml": _many_tools(5000)},
        expect=("test_x.prompts.yaml:2: 5000 tools is more than 128 (limits.tools); send fewer or raise*",),
        timeout=60,
        note="thousands of tools sent with every call",
    ),
]
