"""The transformers provider's tools: `tool_parser` ("json" | "tags") on decoded text, and tools in the chat template."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_promptcheck.providers._tool_text import parse_tool_calls


def names_and_args(parser: str, text: str) -> list[tuple[str, Any, str | None]]:
    return [(c.name, c.arguments, c.error) for c in parse_tool_calls(parser, text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"name": "get_weather", "arguments": {"city": "Paris"}}', [("get_weather", {"city": "Paris"}, None)]),
        ('  {"name": "f", "parameters": {"x": 1}}\n', [("f", {"x": 1}, None)]),
        (
            'Sure:\n```json\n[{"name": "a", "arguments": {}}, {"name": "b", "arguments": "{\\"y\\": 2}"}]\n```',
            [("a", {}, None), ("b", {"y": 2}, None)],
        ),
        (
            '{"name": "f", "arguments": "{broken"}',
            [("f", None, "arguments are not valid JSON (Expecting property name enclosed in double quotes at char 1)")],
        ),
        ('{"category": "billing", "priority": "high"}', []),  # JSON, but not a call
        ("The weather is nice.", []),
        ('{"name": "f", "arguments": {}', []),  # not JSON at all: a text answer
    ],
)
def test_json_parser(text: str, expected: list[tuple[str, Any, str | None]]) -> None:
    """`json`: the whole output or a fenced block is a call or a list of calls; anything else is text."""
    assert names_and_args("json", text) == expected


def test_tags_parser() -> None:
    """`tags`: each <tool_call> block is a call; a block that is not JSON is a call with an error, not dropped."""
    text = (
        "Let me check.\n<tool_call>\n"
        + json.dumps({"name": "get_weather", "arguments": {"city": "Oslo"}})
        + '\n</tool_call>\n<tool_call>\n{"name": "get_forecast", "arguments": {"days": 3,}}\n</tool_call>'
    )
    ((first, args, error), (second, bad, why)) = names_and_args("tags", text)
    assert (first, args, error) == ("get_weather", {"city": "Oslo"}, None)
    assert (second, bad) == ("get_forecast", None)
    assert why is not None and why.startswith("the tool call is not valid JSON")
    assert names_and_args("tags", "no calls here") == []
    # a block cut off by max_new_tokens still counts as the model's (broken) call
    assert names_and_args("tags", '<tool_call>{"name": "a", "arguments": {"x"')[0][:2] == ("a", None)


# -- through the provider, with a real tiny checkpoint -----------------------------------------------


def test_tools_reach_the_chat_template(pytester: pytest.Pytester, tiny_checkpoints: Any) -> None:
    """The suite's tools are passed to apply_chat_template(tools=...) in the function form templates expect."""
    template = (
        "{% if tools %}{{ raise_exception('tools: ' ~ (tools | map(attribute='function') | map(attribute='name')"
        " | join(','))) }}{% endif %}" + (tiny_checkpoints.base / "chat_template.jinja").read_text(encoding="utf-8")
    )
    (pytester.path / "chat.jinja").write_text(template, encoding="utf-8")
    pytester.makepyprojecttoml(
        f'[tool.promptcheck]\nmodels = ["tiny"]\ncache = "off"\n\n[tool.promptcheck.model.tiny]\n'
        f'provider = "transformers"\npath = "{tiny_checkpoints.base}"\nchat_template = "chat.jinja"\ntool_parser = "json"\n'
    )
    pytester.makefile(
        ".prompts.yaml",
        test_tiny="""
prompts:
  p: "My invoice 776 shows the wrong amount."
cases:
  - id: with-tools
    tools: [ { name: get_weather }, { name: lookup } ]
    assert: [ no_tool_calls ]
  - id: without
    assert: [ no_tool_calls ]
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*chat template failed: tools: get_weather,lookup*"])


def test_unknown_tool_parser_is_a_config_error(pytester: pytest.Pytester, tiny_checkpoints: Any) -> None:
    """A tool_parser that is neither json nor tags is refused, naming the choices."""
    pytester.makepyprojecttoml(
        f'[tool.promptcheck]\nmodels = ["tiny"]\ncache = "off"\n\n[tool.promptcheck.model.tiny]\n'
        f'provider = "transformers"\npath = "{tiny_checkpoints.base}"\ntool_parser = "xml"\n'
    )
    pytester.makefile(".prompts.yaml", test_tiny='prompts:\n  p: "hi"\ncases:\n  - id: c\n')
    result = pytester.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*tool_parser 'xml' is not one of json, tags*"])
