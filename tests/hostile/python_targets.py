"""``python:`` model targets that are not model functions: refused at collection, never called."""

from __future__ import annotations

from . import GOOD_SUITE, Hostile

# Each target writes a marker if it is ever called (or constructed): the entries forbid the marker.
_APP = """
def echo(messages, params):
    return messages[-1]["content"]


def one_argument(messages):
    open("called.txt", "w").write("called")
    return "x"


def three_arguments(messages, params, extra):
    open("called.txt", "w").write("called")
    return "x"


class Generator:
    def __init__(self, messages, params):
        open("called.txt", "w").write("constructed")


PROMPT = "not a function"
"""
_SIGNATURE = "*def generate(messages, params) -> str | dict"


def _entry(name: str, target: str, expect: str, note: str) -> Hostile:
    pyproject = f'[tool.promptcheck.model.echo]\nprovider = "python"\nfunction = "{target}"\n'
    return Hostile(
        name=name,
        files={"pyproject.toml": pyproject, "app.py": _APP, "test_s.prompts.yaml": GOOD_SUITE},
        expect=(expect, "*Interrupted: 1 error during collection*"),
        status=2,
        forbidden=("called.txt",),
        note=note,
    )


ENTRIES = [
    _entry(
        "target_os_system",
        "os:system",
        "*model 'echo' (python): 'os:system' is a builtin (not a function defined in Python); point `function` at"
        + _SIGNATURE,
        "a builtin that runs shell commands",
    ),
    _entry(
        "target_class",
        "app:Generator",
        "*model 'echo' (python): 'app:Generator' is a class (not a function defined in Python)*" + _SIGNATURE,
        "a class is callable, and constructing it runs code",
    ),
    _entry(
        "target_not_callable",
        "app:PROMPT",
        "*model 'echo' (python) function: 'app:PROMPT' is not callable; point it at a function like" + _SIGNATURE,
        "a module attribute that is a string",
    ),
    _entry(
        "target_one_parameter",
        "app:one_argument",
        "*'app:one_argument' takes (messages), but it is called with (messages, params); write it as" + _SIGNATURE,
        "failed per call with a TypeError, after the item started",
    ),
    _entry(
        "target_three_parameters",
        "app:three_arguments",
        "*'app:three_arguments' takes (messages, params, extra), but it is called with (messages, params)*",
        "a required third parameter",
    ),
]
