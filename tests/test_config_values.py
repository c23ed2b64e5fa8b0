"""Every configuration value is checked for type and range: the error names the file, key and fix."""

from __future__ import annotations

import pytest

from conftest import PromptProject

SUITE = """
    prompts: {p: "{{ x }}"}
    cases:
      - id: c
        vars: {x: hi}
        assert: [{equals: hi}]
"""
ECHO = '[tool.promptcheck.model.echo]\nprovider = "python"\nfunction = "app:echo"\n'


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        ("[tool.promptcheck]\ncache = 5\n" + ECHO, '[tool.promptcheck] cache must be a path string, or "off"'),
        ("[tool.promptcheck]\nruns = 3\n" + ECHO, "[tool.promptcheck] runs must be a folder path (a string), got 3"),
        ("[tool.promptcheck]\nconcurrency = 0\n" + ECHO, "concurrency must be a whole number of at least 1, got 0"),
        ("[tool.promptcheck]\nconcurrency = 2.5\n" + ECHO, "concurrency must be a whole number of at least 1, got 2.5"),
        ("[tool.promptcheck]\nseed = false\n" + ECHO, "[tool.promptcheck] seed must be a whole number, got False"),
        ("[tool.promptcheck]\nretries = -1\n" + ECHO, "retries must be a whole number of at least 0, got -1"),
        ("[tool.promptcheck]\ntimeout = 0\n" + ECHO, "timeout must be a number of seconds above 0, got 0"),
        ("[tool.promptcheck]\nfiles = []\n" + ECHO, "[tool.promptcheck] files must be a non-empty list of strings"),
        ("[tool.promptcheck]\nbaseline = 1\n" + ECHO, "[tool.promptcheck] baseline must be a model name, got 1"),
        (ECHO + "concurrency = -4\n", "[tool.promptcheck.model.echo] concurrency must be a whole number of at least 1"),
        (ECHO + "timeout = -1\n", "[tool.promptcheck.model.echo] timeout must be a number of seconds above 0, got -1"),
        (ECHO + "params = { temperature = -1 }\n", "model.echo] params.temperature must be a number of at least 0"),
        (ECHO + 'params = { max_tokens = "many" }\n', "params.max_tokens must be a whole number of at least 1"),
        (ECHO + "price = { input_per_mtok = -1 }\n", "price.input_per_mtok must be a number of USD per million"),
        (ECHO + "price = { per_call = 1 }\n", "price: unknown key 'per_call'; valid: input_per_mtok, output_per_mtok"),
        (ECHO + 'api_key_env = "my key"\n', "api_key_env must be the name of an environment variable"),
        (ECHO + "device = 0\n", "[tool.promptcheck.model.echo] device must be a string, got 0"),
        (ECHO + 'dtype = "int4"\n', "model.echo] dtype must be one of auto, float32, fp32, bfloat16, bf16, float16"),
        ('[tool.promptcheck]\nmodel = [{provider = "python"}]\n', "model must be a table of named models, got a list"),
        ('[[tool.promptcheck.model.x]]\nprovider = "python"\n', "[[tool.promptcheck.model.x]] is an array of tables"),
        ("[tool.promptcheck.gate]\nalpha = 1.5\n" + ECHO, "gate] alpha must be a number above 0 and below 1, got 1.5"),
        (
            '[tool.promptcheck.gate]\nvariants = "each"\n' + ECHO,
            "gate] variants must be 'pooled' or 'holm', got 'each'",
        ),
        ("[tool.promptcheck.gate]\nconfirm = -1\n" + ECHO, "gate] confirm (0 turns it off) must be a whole number of"),
    ],
)
def test_bad_value_in_pyproject_is_a_usage_error(
    pytester: pytest.Pytester, project: PromptProject, pyproject: str, message: str
) -> None:
    """A value of the wrong type or out of range stops the run at startup (exit 4), naming the key."""
    pytester.makepyprojecttoml(pyproject)
    project.suite(body=SUITE)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "pyproject.toml: " in result.stderr.str()
    assert message in result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"${OPENAI_BASE_URL"', "base_url: `${OPENAI_BASE_URL` is not closed; write ${NAME} or ${NAME:-default}"),
        ('"http://${}/v1"', "base_url: `${}` names no variable; write ${NAME} or ${NAME:-default}"),
        ('"${HOST-NAME}"', "base_url: `${HOST-NAME}`: 'HOST-NAME' is not a variable name"),
    ],
)
def test_malformed_env_reference_is_reported_at_startup(
    pytester: pytest.Pytester, project: PromptProject, value: str, message: str
) -> None:
    """A broken ${...} is an error when the config is read, even for a model no item uses."""
    pytester.makepyprojecttoml(
        ECHO + f'[tool.promptcheck.model.gpt]\nprovider = "openai"\nmodel = "m"\nbase_url = {value}\n'
    )
    project.suite(body=SUITE)
    result = pytester.runpytest("--pc-models", "echo")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"[tool.promptcheck.model.gpt] {message}" in result.stderr.str()


def test_bad_redact_regex_names_the_pattern_and_key(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A redact pattern that does not compile is a usage error naming redact[i], not an INTERNALERROR."""
    pytester.makepyprojecttoml('[tool.promptcheck]\nredact = ["X-Token", "[a-"]\n' + ECHO)
    project.suite(body=SUITE)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "[tool.promptcheck] redact[1] '[a-' is not a valid regular expression (unterminated" in result.stderr.str()


def test_ini_keys_are_converted_and_checked(pytester: pytest.Pytester, project: PromptProject) -> None:
    """promptcheck_* ini values are strings: a numeric one is used, a bad one names the ini key."""
    project.suite(body=SUITE)
    pytester.makeini("[pytest]\npromptcheck_timeout = 2.5\npromptcheck_concurrency = 3\npromptcheck_cache = off\n")
    pytester.makepyprojecttoml(ECHO)
    pytester.runpytest().assert_outcomes(passed=1)
    assert not (pytester.path / ".promptcheck" / "cache.db").exists()
    pytester.makeini("[pytest]\npromptcheck_concurrency = -4\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "tox.ini: promptcheck_concurrency must be a whole number of at least 1, got -4" in result.stderr.str()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pc-timeout", "-1"], "--pc-timeout must be a number of seconds above 0, got -1"),
        (["--pc-timeout", "inf"], "--pc-timeout must be a number of seconds above 0, got 'inf'"),
        (["--pc-concurrency", "0"], "--pc-concurrency must be a whole number of at least 1, got 0"),
        (["--pc-repeat", "two"], "--pc-repeat must be a whole number of at least 1, got 'two'"),
        (["--pc-seed", "x"], "--pc-seed must be a whole number, got 'x'"),
    ],
)
def test_bad_number_option_names_the_option(
    pytester: pytest.Pytester, project: PromptProject, args: list[str], message: str
) -> None:
    """A --pc-* number out of range is a usage error (exit 4) naming the option and the range."""
    project.suite(body=SUITE)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


TARGETS = """
import os


def one(messages):
    open("called.txt", "w").write("x")
    return "x"


async def async_echo(messages, params):
    return messages[-1]["content"]


def star(*args):
    return args[0][-1]["content"]


class Generator:
    def __init__(self, messages, params):
        open("called.txt", "w").write("x")


NOT_CALLABLE = 3
"""


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("os:system", "'os:system' is a builtin (not a function defined in Python); point `function` at a function"),
        ("targets:Generator", "'targets:Generator' is a class (not a function defined in Python)"),
        ("targets:NOT_CALLABLE", "'targets:NOT_CALLABLE' is not callable; point it at a function like def generate"),
        ("targets:one", "'targets:one' takes (messages), but it is called with (messages, params); write it as def"),
        ("targets:nope", "function: module 'targets' has no attribute 'nope'"),
    ],
)
def test_python_target_that_is_not_a_model_function_is_a_collection_error(
    pytester: pytest.Pytester, project: PromptProject, target: str, message: str
) -> None:
    """A python model whose target is not `def f(messages, params)` is refused at collection, never called."""
    pytester.makepyfile(targets=TARGETS)
    pytester.makepyprojecttoml(f'[tool.promptcheck.model.bad]\nprovider = "python"\nfunction = "{target}"\n')
    project.suite(body=SUITE)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*Interrupted: 1 error during collection*"])
    assert "model 'bad' (python)" in result.stdout.str()
    assert message in result.stdout.str()
    assert not (pytester.path / "called.txt").exists()


def test_only_used_python_models_are_checked_and_async_or_star_args_pass(
    pytester: pytest.Pytester, project: PromptProject
) -> None:
    """`async def f(messages, params)` and `def f(*args)` are model functions; an unused bad model is not checked."""
    pytester.makepyfile(targets=TARGETS)
    project.config({"a": "targets:async_echo", "s": "targets:star", "bad": "targets:one"})
    project.suite(body=SUITE)
    pytester.runpytest("--pc-models", "a,s").assert_outcomes(passed=2)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert "model 'bad' (python): 'targets:one' takes (messages)" in result.stdout.str()
