"""What the SDK provider tests share: a one-model pytester project on the test server, and suites."""

from __future__ import annotations

import textwrap

import pytest

ECHO_SUITE = """
    prompts:
      p: "{{ reply }}"
    cases:
      - id: good
        vars: { reply: "refund issued" }
        assert: [ { contains: refund } ]
      - id: bad
        vars: { reply: "no idea" }
        assert: [ { contains: refund } ]
"""

ONE_CASE = """
    prompts:
      p: "hello {{ who }}"
    cases:
      - id: c1
        vars: { who: one }
        assert: [ { contains: hello } ]
"""

TWO_CASES = (
    ONE_CASE
    + """
      - id: c2
        vars: { who: two }
        assert: [ { contains: hello } ]
"""
)


# Usage and finish reason reach the operational assertions (reply: 12 input tokens, 34 output
# tokens, finish "length"): one case passes, "too-long" fails on 46 total tokens, "cut-off" on the reason.
USAGE_SUITE = """
    prompts:
      p: "go"
    cases:
      - id: ok
        assert:
          - tokens: { max: 34 }
          - tokens: { kind: input, min: 12, max: 12 }
          - finish_reason: length
      - id: too-long
        assert: [ { tokens: { kind: total, max: 40 } } ]
      - id: cut-off
        assert: [ { finish_reason: stop } ]
"""


def write_provider_project(
    pytester: pytest.Pytester,
    *,
    name: str,
    provider: str,
    model_id: str,
    base_url: str | None,
    suite: str,
    api_key_env: str | None,
    model_lines: str = "",
    top_lines: str = "",
) -> None:
    """A project with one model ``name`` of ``provider`` (model id ``model_id``) and one suite ``test_suite``."""
    model = [f'provider = "{provider}"', f'model = "{model_id}"']
    if base_url is not None:
        model.append(f'base_url = "{base_url}"')
    if api_key_env is not None:
        model.append(f'api_key_env = "{api_key_env}"')
    pytester.makepyprojecttoml(
        "\n".join(
            [
                "[tool.promptcheck]",
                f'models = ["{name}"]',
                'cache = "off"',  # every run reaches the server, whatever the cache does
                top_lines,
                "",
                f"[tool.promptcheck.model.{name}]",
                *model,
                model_lines,
            ]
        )
    )
    pytester.makefile(".prompts.yaml", test_suite=textwrap.dedent(suite))


def output_of(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()
