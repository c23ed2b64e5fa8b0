"""Multi-turn cases through the real openai and anthropic SDK clients against the tests' server: the
history (the model's own earlier replies) reaches the wire in each protocol, and a failure names its turn."""

from __future__ import annotations

from typing import Any

import pytest

from llm_server import LLMServer, RecordedRequest, content_text
from provider_project import output_of, write_provider_project

KEY_ENV = "PC_TEST_TURNS_KEY"

CHAT = """
    prompts:
      p:
        - system: "You are terse."
    cases:
      - id: chat
        vars: { who: Ann }
        turns:
          - user: "hello {{ who }}"
            assert: [ { contains: "reply 1" } ]
          - user: "and again"
            assert: [ { contains: "reply 2" } ]
          - user: "bye"
            assert: [ { contains: "reply 3" } ]
"""


def counting(request: RecordedRequest) -> str:
    """'reply N' where N counts the user messages sent so far: each turn's answer differs."""
    return f"reply {sum(1 for m in request.messages if m.get('role') == 'user')}: {request.last_user}"


def _project(pytester: pytest.Pytester, server: LLMServer, provider: str, suite: str) -> None:
    base_url = server.base_url if provider == "openai" else server.anthropic_base_url
    write_provider_project(pytester, name="m", provider=provider, model_id=f"{provider}-test", base_url=base_url,
                           suite=suite, api_key_env=KEY_ENV, top_lines="retries = 0")  # fmt: skip


def _wire(request: RecordedRequest) -> list[tuple[str, str]]:
    return [(str(m.get("role")), content_text(m.get("content"))) for m in request.messages]


@pytest.fixture
def sdk(provider: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip(provider)
    request.getfixturevalue(f"{provider}_warm")  # see server_fixtures.openai_warm
    monkeypatch.setenv(KEY_ENV, "sk-test-turns")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.usefixtures("sdk")
def test_three_user_turns_send_the_history(pytester: pytest.Pytester, llm_server: LLMServer, provider: str) -> None:
    """Three turns, three requests: each carries the earlier turns and the model's replies to them."""
    llm_server.responder = counting
    _project(pytester, llm_server, provider, CHAT)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert llm_server.request_count == 3
    last: Any = llm_server.requests[-1]
    history = [
        ("user", "hello Ann"),
        ("assistant", "reply 1: hello Ann"),
        ("user", "and again"),
        ("assistant", "reply 2: and again"),
        ("user", "bye"),
    ]
    assert _wire(last)[-5:] == history
    if provider == "anthropic":
        assert last.system == "You are terse."


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.usefixtures("sdk")
def test_a_failing_turn_is_named(pytester: pytest.Pytester, llm_server: LLMServer, provider: str) -> None:
    """Turn 2's assertion fails: the failure names turn 2; turn 3 still ran."""
    llm_server.responder = counting
    _project(pytester, llm_server, provider, CHAT.replace('contains: "reply 2"', 'contains: "reply 9"'))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert "1 of 3 turns failed; first turn 2 (user): contains 'reply 9' failed" in output_of(result)
    assert llm_server.request_count == 3
