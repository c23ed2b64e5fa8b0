"""`tools:`, `tools_from:` and `tool_choice:` in suite files: checked at collection (file:line), sent per case.

The model is a `python` function here (tools reach it in ``params``), so these tests need no server.
"""

from __future__ import annotations

import json

import pytest

from conftest import PromptProject

APP = """
import json

def tools_seen(messages, params):
    names = [t["name"] for t in params.get("tools", [])]
    return json.dumps({"tools": names, "choice": params.get("tool_choice")})

def weather(messages, params):
    city = messages[-1]["content"]
    return {"tool_calls": [{"name": "get_weather", "arguments": {"city": city}, "id": "c1"}]}
"""

TOOL = "{ name: get_weather, parameters: { type: object, properties: { city: { type: string } } } }"


@pytest.fixture
def app(pytester: pytest.Pytester, project: PromptProject) -> PromptProject:
    pytester.makepyfile(tools_app=APP)
    project.config({"seen": "tools_app:tools_seen", "weather": "tools_app:weather"})
    return project


def test_case_tools_override_the_suite_and_reach_the_function(pytester: pytest.Pytester, app: PromptProject) -> None:
    """Suite tools and choice reach every case; a case's own tools and choice replace them."""
    app.suite(
        body=f"""
tools: [ {TOOL} ]
tool_choice: required
prompts:
  p: "go"
defaults:
  models: [seen]
cases:
  - id: inherits
    assert: [ {{ json_path: {{ path: "$.tools", equals: [get_weather] }} }}, {{ json_path: {{ path: "$.choice", equals: required }} }} ]
  - id: own
    tools: [ {{ name: lookup }}, {{ name: other }} ]
    tool_choice: {{ name: lookup }}
    assert: [ {{ json_path: {{ path: "$.tools", equals: [lookup, other] }} }}, {{ json_path: {{ path: "$.choice.name", equals: lookup }} }} ]
  - id: none
    tools: []
    assert: [ {{ json_path: {{ path: "$.tools", equals: [] }} }} ]
"""
    )
    pytester.runpytest("-v").assert_outcomes(passed=3)


def test_python_model_answers_with_tool_calls(pytester: pytest.Pytester, app: PromptProject) -> None:
    """A python function's `tool_calls` are the answer's calls; vars fill templated args."""
    app.suite(
        body=f"""
tools: [ {TOOL} ]
prompts:
  p: "{{{{ city }}}}"
defaults:
  models: [weather]
cases:
  - id: oslo
    vars: {{ city: Oslo }}
    assert:
      - {{ tool_call: {{ name: get_weather, args: {{ city: "{{{{ city }}}}" }}, count: 1 }} }}
      - {{ tool_call: {{ name: get_forecast, count: 0 }} }}
      - {{ tool_call: {{ name: get_weather, count: 2 }} }}
      - no_tool_calls
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*✓ tool_call*", "*✗ no_tool_calls*", '*no_tool_calls: calls made: get_weather({"city": "Oslo"})*']
    )
    records = [
        json.loads(line)
        for line in next((pytester.path / ".promptcheck" / "runs").glob("*/results.jsonl")).read_text().splitlines()
    ]
    (call,) = records  # one line per call
    assert call["tool_calls"] == [
        {
            "name": "get_weather",
            "arguments": {"city": "Oslo"},
            "raw_arguments": '{"city": "Oslo"}',
            "id": "c1",
            "error": None,
        }
    ]


@pytest.mark.parametrize(
    ("suite", "expected"),
    [
        (
            "tools: [ { name: a }, { name: a } ]\n",
            "*test_suite.prompts.yaml:1: tool 'a' is defined twice (first at line 1)*",
        ),
        (
            "tools:\n  - { name: 'bad name' }\n",
            "*test_suite.prompts.yaml:2: tools[[]0].name: name 'bad name' may only hold*",
        ),
        (
            "tools:\n  - name: a\n    parameters: { type: object, properties: { x: { type: strin } } }\n",
            "*test_suite.prompts.yaml:3: tool 'a': parameters is not a valid JSON Schema at properties.x.type*",
        ),
        (
            "tools:\n  - name: a\n    parameters: { type: string }\n",
            "*test_suite.prompts.yaml:3: tool 'a': parameters must be a schema of `type: object`*",
        ),
        ("tools: [ { type: function, function: { name: a } } ]\n", "*unknown key*"),
        (
            "tools: [ { name: a } ]\ntool_choice: { name: b }\n",
            "*test_suite.prompts.yaml:2: tool_choice names tool 'b', which is not declared (tools: a)*",
        ),
        ("tool_choice: required\n", "*tool_choice is set but no tools are declared*"),
        ("tool_choice: sometimes\n", "*tool_choice*"),
        ("tools: [ { name: a } ]\ntools_from: tools.json\n", "*set `tools:` or `tools_from:`, not both*"),
    ],
)
def test_bad_tools_are_collection_errors(
    pytester: pytest.Pytester, app: PromptProject, suite: str, expected: str
) -> None:
    """Each mistake in tools is reported at its line, with what to do."""
    app.suite(body=suite + 'prompts:\n  p: "go"\ncases:\n  - id: c\n    models: [seen]\n')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([expected])


def test_tools_from_yaml_and_json_files(pytester: pytest.Pytester, app: PromptProject) -> None:
    """tools_from (here in `defaults`) reads a YAML or JSON list relative to the suite; a problem names the file's line."""
    pytester.path.joinpath("tools").mkdir()
    pytester.path.joinpath("tools", "weather.yaml").write_text(
        "- name: get_weather\n  parameters: {type: object}\n- name: get_forecast\n"
    )
    pytester.path.joinpath("tools", "one.json").write_text(json.dumps([{"name": "lookup"}]))
    app.suite(
        body="""
prompts:
  p: "go"
defaults:
  models: [seen]
  tools_from: tools/weather.yaml
cases:
  - id: yaml
    assert: [ { json_path: { path: "$.tools", equals: [get_weather, get_forecast] } } ]
  - id: json
    tools_from: tools/one.json
    assert: [ { json_path: { path: "$.tools", equals: [lookup] } } ]
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)
    pytester.path.joinpath("tools", "weather.yaml").write_text("- name: a\n- name: a b\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*tools/weather.yaml:2:*tool name 'a b'*"])


def test_tools_from_outside_the_project_is_refused(pytester: pytest.Pytester, app: PromptProject) -> None:
    """tools_from is read under the file rules: a path out of the project is refused at its line."""
    app.suite(
        body='tools_from: ../../../../../../etc/passwd\nprompts:\n  p: "go"\ncases:\n  - id: c\n    models: [seen]\n'
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_suite.prompts.yaml:1: tools_from: file '../../../../../../etc/passwd' lies outside the project*"]
    )


def test_too_many_tools_name_the_limit(pytester: pytest.Pytester, app: PromptProject) -> None:
    """More tools than limits.tools is an error naming the limit; raising it lets them through."""
    tools = ", ".join(f"{{ name: t{i} }}" for i in range(5))
    app.suite(body=f'tools: [ {tools} ]\nprompts:\n  p: "go"\ncases:\n  - id: c\n    models: [seen]\n')
    pytester.path.joinpath("pyproject.toml").write_text(
        pytester.path.joinpath("pyproject.toml").read_text() + "\n[tool.promptcheck.limits]\ntools = 4\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_suite.prompts.yaml:1: 5 tools is more than 4 (limits.tools)*raise*tools*"])


@pytest.mark.parametrize(
    ("assertion", "expected"),
    [
        ("{ tool_call: { args: { a: 1 } } }", "*`tool_call` needs a tool name or a mapping with `name`*"),
        ("{ tool_call: { name: a, count: -1 } }", "*`tool_call` count must be a whole number*"),
        ("{ tool_call: { name: a, arg: {} } }", "*`tool_call` has unknown key 'arg'*"),
        (
            "{ tool_call: { name: a, args_schema: { type: 5 } } }",
            "*`tool_call` args_schema is not a valid JSON Schema*",
        ),
        ("{ not_tool_call: [] }", "*`not_tool_call` needs a tool name or a list of names*"),
        ("{ no_tool_calls: yes }", "*`no_tool_calls` takes true or false*"),
    ],
)
def test_bad_tool_assertion_arguments(
    pytester: pytest.Pytester, app: PromptProject, assertion: str, expected: str
) -> None:
    """The tool assertions' arguments are checked at collection, at the assertion's line."""
    app.suite(body=f'prompts:\n  p: "go"\ncases:\n  - id: c\n    models: [seen]\n    assert:\n      - {assertion}\n')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_suite.prompts.yaml:7: *" + expected.lstrip("*")])


def test_lint_checks_tools_and_tool_assertions(pytester: pytest.Pytester, app: PromptProject) -> None:
    """`promptcheck lint` reports a bad tool and a bad tool assertion argument at their lines, calling nothing."""
    import subprocess
    import sys

    app.suite(
        body='tools: [ { name: a, parameters: { type: string } } ]\nprompts:\n  p: "go"\ncases:\n  - id: c\n'
        "    models: [seen]\n    assert:\n      - tool_call: { name: a, count: many }\n"
    )
    command = [sys.executable, "-m", "pytest_promptcheck.cli", "lint"]
    done = subprocess.run(command, cwd=pytester.path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "test_suite.prompts.yaml:1: tool 'a': parameters must be a schema of `type: object`" in done.stdout, (
        done.stdout
    )
    app.suite(body='tools: [ { name: a } ]\nprompts:\n  p: "go"\ncases:\n  - id: c\n    models: [seen]\n'
              "    assert:\n      - tool_call: { name: a, count: many }\n")  # fmt: skip
    done = subprocess.run(command, cwd=pytester.path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "test_suite.prompts.yaml:8: " in done.stdout, done.stdout
    assert "`tool_call` count must be a whole number (0 or more), got 'many'" in done.stdout
