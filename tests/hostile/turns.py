"""``turns:`` inputs (issue 16): handlers that are not project functions, conversations past the limit."""

from __future__ import annotations

from . import Hostile

_MARKER = "handler_ran.txt"


def _suite(handler: str) -> str:
    return f"""
prompts:
  p: "hello"
cases:
  - id: talk
    turns:
      - user: "hi"
      - tool_handler: {handler}
"""


def _handler_entry(name: str, handler: str, expect: str, note: str) -> Hostile:
    return Hostile(
        name=name,
        files={"test_t.prompts.yaml": _suite(handler)},
        expect=(expect, "*Interrupted: 1 error during collection*"),
        status=2,
        forbidden=(_MARKER,),
        note=note,
    )


_BOMB = "prompts:\n  p: hello\ncases:\n  - id: bomb\n    turns:\n" + '      - user: "again"\n' * 5000

_UNKNOWN_TOOL = """
tools:
  - name: get_weather
    parameters: { type: object, properties: { city: { type: string } } }
prompts:
  p: "hello"
cases:
  - id: talk
    turns:
      - user: "hi"
      - tool_results: { get_wether: sunny }
"""

ENTRIES = [
    _handler_entry(
        "tool_handler_outside_project",
        "shutil:rmtree",
        "*test_t.prompts.yaml:8: [[]case 'talk'] turn 2: tool_handler 'shutil:rmtree' is defined outside the "
        "project (*); a tool_handler must live in the project*",
        "a library function (here one that deletes folders) called with the model's arguments",
    ),
    _handler_entry(
        "tool_handler_builtin",
        "os:system",
        "*turn 2: tool_handler 'os:system' is a builtin, not a function defined in Python; point it at a function*",
        "a builtin that runs the model's arguments as a shell command",
    ),
    _handler_entry(
        "tool_handler_not_importable",
        "nowhere.tools:answer",
        "*test_t.prompts.yaml:8: [[]case 'talk'] turn 2: tool_handler: cannot import module 'nowhere.tools': *; point tool_handler at a function in the project*",
        "a module that does not exist",
    ),
    Hostile(
        name="turns_bomb",
        files={"test_t.prompts.yaml": _BOMB},
        expect=(
            "*test_t.prompts.yaml:6: [[]case 'bomb'] `turns` has 5000 entries, more than 50 (limits.turns); use fewer "
            "turns or raise [[]tool.promptcheck.limits] turns",
        ),
        status=2,
        note="5000 sequential calls from one case",
    ),
    Hostile(
        name="tool_results_unknown_tool",
        files={"test_t.prompts.yaml": _UNKNOWN_TOOL},
        expect=(
            "*test_t.prompts.yaml:11: [[]case 'talk'] turn 2: tool_results names unknown tool 'get_wether' "
            "(declared: 'get_weather'); fix the name or declare the tool under `tools:`",
        ),
        status=2,
        note="a misspelt tool name would answer nothing, silently",
    ),
]
