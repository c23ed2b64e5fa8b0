"""Configuration: pyproject and ini keys, ${ENV}, --pc-* options, precedence, secrets."""

from __future__ import annotations

import pytest

from conftest import PromptProject

# A model whose reply shows what it was called with, to check precedence end to end.
PARAMS_APP = """
import json

def show(messages, params):
    return json.dumps(params, sort_keys=True)
"""

SUITE = """
    prompts: {p: "{{ x }}"}
    cases:
      - id: c
        vars: {x: hi}
"""


def test_ini_keys_configure_when_pyproject_has_no_table(pytester: pytest.Pytester) -> None:
    """`promptcheck_files` in pytest.ini changes which files are suites."""
    pytester.makepyfile(app="def echo(messages, params):\n    return messages[-1]['content']\n")
    pytester.makeini("[pytest]\npromptcheck_files = checks_*.yaml\n")
    pytester.makepyprojecttoml('[tool.promptcheck.model.echo]\nprovider = "python"\nfunction = "app:echo"\n')
    (pytester.path / "checks_one.yaml").write_text('prompts: {p: "{{ x }}"}\ncases: [{id: c, vars: {x: hi}}]\n')
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["checks_one.yaml::c[[]echo[]]", "1 test collected*"])


def test_precedence_cli_over_case_over_defaults_over_config(pytester: pytest.Pytester) -> None:
    """Params merge config < suite defaults < case; --pc-seed changes the derived seed."""
    pytester.makepyfile(app=PARAMS_APP)
    pytester.makepyprojecttoml("""
        [tool.promptcheck.model.m]
        provider = "python"
        function = "app:show"
        params = { temperature = 0.5, max_tokens = 10, top_p = 0.9 }
    """)
    pytester.makefile(
        ".prompts.yaml",
        test_p="""
        prompts: {p: "{{ x }}"}
        defaults:
          params: { max_tokens: 20, stop: "END" }
        cases:
          - id: c
            vars: {x: hi}
            params: { stop: "DONE" }
            assert:
              - json_path: { path: "$.temperature", equals: 0.5 }
              - json_path: { path: "$.max_tokens", equals: 20 }
              - json_path: { path: "$.stop", equals: DONE }
              - json_path: { path: "$.top_p", equals: 0.9 }
    """,
    )
    pytester.runpytest().assert_outcomes(passed=1)
    first = pytester.runpytest("-v", "--pc-seed", "1", "-k", "c").stdout.str()
    second = pytester.runpytest("-v", "--pc-seed", "2").stdout.str()
    assert first.count("PASSED") == second.count("PASSED") == 1


def test_seed_derives_per_sample_and_changes_with_pc_seed(pytester: pytest.Pytester) -> None:
    """Each repeat gets its own seed; --pc-seed changes every derived seed."""
    pytester.makepyfile(app=PARAMS_APP)
    pytester.makepyprojecttoml('[tool.promptcheck.model.m]\nprovider = "python"\nfunction = "app:show"\n')
    pytester.makefile(
        ".prompts.yaml",
        test_s="""
        prompts: {p: "{{ x }}"}
        cases:
          - id: c
            vars: {x: hi}
            repeat: 3
            assert: [ { equals: "never" } ]
    """,
    )
    out_a = pytester.runpytest().stdout.str()
    out_b = pytester.runpytest("--pc-seed", "7").stdout.str()
    seeds_a = {line.split('"seed": ')[1].rstrip("}") for line in out_a.splitlines() if "output:" in line}
    seeds_b = {line.split('"seed": ')[1].rstrip("}") for line in out_b.splitlines() if "output:" in line}
    assert len(seeds_a) == 3 and len(seeds_b) == 3
    assert not seeds_a & seeds_b


def test_pc_model_overrides_what_is_served(pytester: pytest.Pytester, project: PromptProject) -> None:
    """--pc-model NAME=python:mod:fn replaces an existing model's function."""
    project.suite(body=SUITE.replace("vars: {x: hi}", "vars: {x: hi}\n        assert: [{equals: HI}]"))
    pytester.runpytest().assert_outcomes(failed=1)
    pytester.runpytest("--pc-model", "echo=python:app:echo_upper").assert_outcomes(passed=1)


def test_pc_model_defines_a_new_model(pytester: pytest.Pytester, project: PromptProject) -> None:
    """--pc-model can add a model that the config does not define."""
    project.suite(body=SUITE)
    result = pytester.runpytest("--collect-only", "-q", "--pc-model", "loud=python:app:echo_upper")
    result.stdout.fnmatch_lines(["*c[[]echo[]]", "*c[[]loud[]]"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pc-models", "nope"], "*unknown model 'nope' (defined: echo)*"),
        (["--pc-baseline", "ghost"], "*unknown model 'ghost'*--pc-model ghost=PROVIDER:TARGET*"),
        (["--pc-model", "broken"], "*--pc-model 'broken': expected NAME=PROVIDER:TARGET*"),
        (["--pc-repeat", "0"], "*--pc-repeat must be a whole number of at least 1, got 0*"),
    ],
)
def test_bad_command_line_is_a_usage_error(
    pytester: pytest.Pytester, project: PromptProject, args: list[str], message: str
) -> None:
    """An unknown model or malformed option on the command line stops at startup (exit 4)."""
    project.suite(body=SUITE)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_secret_in_config_is_rejected(pytester: pytest.Pytester, project: PromptProject) -> None:
    """An API key written into pyproject.toml is refused with a pointer to api_key_env."""
    pytester.makepyprojecttoml("""
        [tool.promptcheck.model.gpt]
        provider = "openai"
        model = "gpt-4o-mini"
        api_key = "sk-live-123456"
    """)
    project.suite(body=SUITE)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*api_key must not be written in the config*api_key_env*"])
    assert "sk-live-123456" not in result.stdout.str() + result.stderr.str()


def test_env_interpolation_and_missing_env_only_for_used_models(
    pytester: pytest.Pytester, project: PromptProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """${VAR} fills config values; an unset VAR only matters for a model that selected items use."""
    monkeypatch.setenv("PC_FN", "app:echo_upper")
    monkeypatch.delenv("PC_UNSET_URL", raising=False)
    pytester.makepyprojecttoml("""
        [tool.promptcheck]
        models = ["loud"]
        [tool.promptcheck.model.loud]
        provider = "python"
        function = "${PC_FN}"
        [tool.promptcheck.model.remote]
        provider = "openai"
        model = "m"
        base_url = "${PC_UNSET_URL}"
    """)
    project.suite(body=SUITE.replace("vars: {x: hi}", "vars: {x: hi}\n        assert: [{equals: HI}]"))
    pytester.runpytest().assert_outcomes(passed=1)
    result = pytester.runpytest("--pc-models", "remote")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*needs the environment variable PC_UNSET_URL, which is not set*"])


def test_unknown_key_in_config_names_valid_keys(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A typo in [tool.promptcheck] is a usage error listing the valid keys."""
    pytester.makepyprojecttoml("[tool.promptcheck]\nconcurency = 3\n")
    project.suite(body=SUITE)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown key 'concurency'*valid keys:*concurrency*"])


def test_no_model_configured_is_a_collection_error(pytester: pytest.Pytester) -> None:
    """A suite with no model anywhere says how to configure one."""
    pytester.makefile(".prompts.yaml", test_x=SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_x.prompts.yaml:1: no model is configured*--pc-model*"])


def test_dry_run_lists_calls_and_calls_nothing(pytester: pytest.Pytester) -> None:
    """--pc-dry-run renders and counts calls with a cost estimate, and never calls the model."""
    pytester.makepyfile(app="def boom(messages, params):\n    raise SystemExit('called!')\n")
    pytester.makepyprojecttoml("""
        [tool.promptcheck.model.paid]
        provider = "python"
        function = "app:boom"
        params = { max_tokens = 100 }
        price = { input_per_mtok = 1000.0, output_per_mtok = 2000.0 }
    """)
    pytester.makefile(
        ".prompts.yaml",
        test_d="""
        prompts: {p: "{{ x }}"}
        cases:
          - id: c
            vars: {x: hello}
            repeat: 2
    """,
    )
    result = pytester.runpytest("--pc-dry-run")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "  paid: 2 calls, ~4 input + <=200 output tokens, est. $0.4040",
            "dry run: 2 calls would be made, est. $0.4040 in all; nothing was called",
        ]
    )


def test_third_party_provider_and_assertion_from_conftest(pytester: pytest.Pytester) -> None:
    """Providers and assertions registered in a conftest.py apply to the suites below it."""
    pytester.makepyprojecttoml('[tool.promptcheck.model.rev]\nprovider = "reverser"\n')
    sub = pytester.mkdir("sub")
    (sub / "conftest.py").write_text("""
from pytest_promptcheck.providers import Completion


class Reverser:
    def __init__(self, model, context):
        self.model = model

    async def complete(self, request):
        return Completion(output=request.messages[-1]["content"][::-1])

    async def aclose(self):
        pass


def pytest_promptcheck_register_providers(registry):
    registry.register("reverser", Reverser)


def pytest_promptcheck_register_assertions(registry):
    registry.register("palindrome", lambda output, arg, ctx: output == output[::-1], arg="none")
""")
    (sub / "test_r.prompts.yaml").write_text(
        'prompts: {p: "{{ x }}"}\ncases:\n  - {id: c, vars: {x: abc}, assert: [{equals: cba}, not_palindrome]}\n'
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_unknown_provider_reported_after_collection(pytester: pytest.Pytester) -> None:
    """A model whose provider nobody registered is a usage error before any call, listing providers."""
    pytester.makepyprojecttoml('[tool.promptcheck.model.x]\nprovider = "nosuch"\n')
    pytester.makefile(".prompts.yaml", test_u=SUITE)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*model 'x'*unknown provider 'nosuch'; registered: anthropic, azure-openai, bedrock, openai, python, transformers*"
        ]
    )


def test_hanging_python_model_is_cut_off_by_the_timeout(pytester: pytest.Pytester) -> None:
    """A model that never answers becomes an error naming the timeout; the run still ends."""
    pytester.makepyfile(app="import time\n\ndef hang(messages, params):\n    time.sleep(2)\n")
    pytester.makepyprojecttoml('[tool.promptcheck.model.slow]\nprovider = "python"\nfunction = "app:hang"\n')
    pytester.makefile(".prompts.yaml", test_h=SUITE)
    result = pytester.runpytest("--pc-timeout", "0.2")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*python model 'slow': no answer within 0.2 s (timeout)*"])
