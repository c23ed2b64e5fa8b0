"""Export of tool-call and multi-turn failures (issue 16): OpenAI chat with `tools`, `tool_calls` and
`weight: 0`; TRL's conversational prompt-completion with a `tools` column, loaded by `datasets` and
rendered by TRL's own chat-template step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import PromptProject
from pytest_promptcheck.outputs.export_tools import build_tool_row
from test_export import read_jsonl

AGENT = """
def agent(messages, params):
    last = messages[-1]
    if last["role"] == "tool":
        return "It is " + last["content"]
    if "weather" in last["content"]:
        return {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Lyon"}, "id": "c1"}]}
    return "no idea"
"""

SUITE = """
tools:
  - name: get_weather
    description: Current weather for a city
    parameters: { type: object, properties: { city: { type: string } }, required: [city] }
prompts:
  guided:
    - system: "You are a travel assistant."
cases:
  - id: wrong-city
    ideal_tool_call: { name: get_weather, args: { city: Paris } }
    turns:
      - user: "What's the weather in Paris?"
        assert: [ { python: "checks:asks_paris" } ]
  - id: trip
    ideal: "It is 20 degrees in Paris."
    turns:
      - user: "What's the weather in Paris?"
      - tool_results: { get_weather: "20 degrees" }
        assert: [ { contains: "Paris" } ]
      - user: "Thanks"
        assert: [ { contains: "never" } ]
"""

CHECKS = """
def asks_paris(output, context):
    return any(c.arguments == {"city": "Paris"} for c in context.completion.tool_calls)
"""

# A chat template that renders tools, tool calls and tool results (as tool-calling templates do).
TEMPLATE = (
    "{% if tools %}<tools>{% for t in tools %}{{ t.function.name }} {% endfor %}</tools>{% endif %}"
    "{% for m in messages %}<{{ m.role }}>{% if m.content %}{{ m.content }}{% endif %}"
    "{% if m.tool_calls %}{% for c in m.tool_calls %}<call>{{ c.function.name }} {{ c.function.arguments | tojson }}"
    "</call>{% endfor %}{% endif %}</{{ m.role }}>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"
)


@pytest.fixture
def agent(pytester: pytest.Pytester, project: PromptProject) -> PromptProject:
    pytester.makepyfile(agent=AGENT, checks=CHECKS)
    project.config({"bot": "agent:agent"})
    project.suite(body=SUITE)
    return project


def check_openai_tool_chat(row: dict[str, Any]) -> None:
    """OpenAI SFT with tools (FineTuneChatRequestInput): keys, roles, tool_calls and tool_call_ids, weights."""
    assert set(row) <= {"messages", "tools", "parallel_tool_calls"} and row["messages"]
    for tool in row.get("tools", []):
        assert tool["type"] == "function" and isinstance(tool["function"]["name"], str)
    ids: set[str] = set()
    for m in row["messages"]:
        role = m["role"]
        assert role in {"system", "user", "assistant", "tool"}
        allowed = {"system": {"role", "content", "name"}, "user": {"role", "content", "name"},
                   "assistant": {"role", "content", "name", "weight", "tool_calls"},
                   "tool": {"role", "content", "tool_call_id"}}[role]  # fmt: skip
        assert set(m) <= allowed, m
        if role == "assistant":
            assert m.get("weight", 1) in (0, 1)
            assert (isinstance(m.get("content"), str) and m["content"]) or m.get("tool_calls"), m
            for call in m.get("tool_calls") or []:
                assert set(call) == {"id", "type", "function"} and call["type"] == "function"
                assert isinstance(json.loads(call["function"]["arguments"]), dict)
                ids.add(call["id"])
        else:
            assert isinstance(m["content"], str) and m["content"], m
        if role == "tool":
            assert m["tool_call_id"] in ids, "a tool message answers an earlier call"
    target = row["messages"][-1]
    assert target["role"] == "assistant" and target.get("weight", 1) == 1
    assert all(m.get("weight") == 0 for m in row["messages"][:-1] if m["role"] == "assistant")


def tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"<unk>": 0, "<eos>": 1}, unk_token="<unk>"))
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", chat_template=TEMPLATE)


def check_trl_rows(path: Path) -> list[dict[str, Any]]:
    """The file loads as a dataset; each row is conversational and renders through TRL's chat-template step."""
    from datasets import load_dataset
    from trl.data_utils import apply_chat_template, is_conversational

    rows = list(load_dataset("json", data_files=str(path), split="train"))
    tokenizer = tiny_tokenizer()
    rendered = []
    for row in rows:
        assert is_conversational(row)
        assert row["prompt"][-1]["role"] != "assistant" and len(row["completion"]) == 1
        tools = json.loads(row["tools"]) if row["tools"] else None
        rendered.append(
            apply_chat_template({"prompt": row["prompt"], "completion": row["completion"]}, tokenizer, tools)
        )
    return rendered


def test_failing_tool_call_case_exports_its_ideal_tool_call(pytester: pytest.Pytester, agent: PromptProject) -> None:
    """The case's `ideal_tool_call` is the target, as an assistant `tool_calls` message; rows pass the rules."""
    pytester.runpytest("--pc-export", "out/chat.jsonl").assert_outcomes(failed=2)
    rows = read_jsonl(pytester.path / "out" / "chat.jsonl")
    assert len(rows) == 2
    for row in rows:
        check_openai_tool_chat(row)
    (tool_row,) = [r for r in rows if "tool_calls" in r["messages"][-1]]
    assert tool_row["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]  # fmt: skip
    assert tool_row["messages"][-1] == {"role": "assistant", "tool_calls": [
        {"id": "call_target", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    ]}  # fmt: skip


def test_conversation_exports_the_whole_history_to_its_first_failing_turn(
    pytester: pytest.Pytester, agent: PromptProject
) -> None:
    """Turn 2 fails first: its row is system, user, the assistant's call (weight 0), the tool result, the ideal."""
    pytester.runpytest("--pc-export", "out/chat.jsonl", "-k", "trip").assert_outcomes(failed=1)
    (row,) = read_jsonl(pytester.path / "out" / "chat.jsonl")
    check_openai_tool_chat(row)
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    call = row["messages"][2]
    assert call["weight"] == 0 and call["content"] is None
    assert call["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'}}
    ]
    assert row["messages"][3] == {"role": "tool", "tool_call_id": "c1", "content": "20 degrees"}
    assert row["messages"][-1] == {"role": "assistant", "content": "It is 20 degrees in Paris."}


def test_tool_rows_load_in_trl(pytester: pytest.Pytester, agent: PromptProject, trl_libs: tuple[Any, Any]) -> None:
    """trl-sft rows of both cases load as one dataset and pass TRL's conversational checks and template step."""
    pytester.runpytest("--pc-export", "out/trl.jsonl", "--pc-export-format", "trl-sft").assert_outcomes(failed=2)
    path = pytester.path / "out" / "trl.jsonl"
    rows = read_jsonl(path)
    assert {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]} in [
        r["completion"][0] for r in rows]  # fmt: skip
    assert all(json.loads(r["tools"])[0]["function"]["name"] == "get_weather" for r in rows)
    rendered = check_trl_rows(path)
    assert all(r["prompt"].startswith("<tools>get_weather </tools>") for r in rendered)  # the template saw them
    assert any('<call>get_weather {"city": "Paris"}</call>' in r["completion"] for r in rendered)
    trip = [r for r in rendered if "<tool>20 degrees</tool>" in r["prompt"]]
    assert len(trip) == 1 and '<call>get_weather {"city": "Lyon"}</call>' in trip[0]["prompt"]


def test_tools_go_into_both_formats() -> None:
    """The request's tools become OpenAI's `tools` list and TRL's `tools` column (JSON text)."""
    tools = [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    ideal = {"name": "get_weather", "args": {"city": "Paris"}}
    chat, _ = build_tool_row("openai-chat", messages, None, ideal, tools)
    assert chat is not None
    check_openai_tool_chat(chat)
    assert chat["tools"] == [{"type": "function", "function": tools[0]}]
    trl, _ = build_tool_row("trl-sft", messages, None, ideal, tools)
    assert trl is not None and json.loads(trl["tools"]) == chat["tools"]
    assert build_tool_row("openai-dpo", messages, None, ideal, tools) == (
        None,
        "tool calls are exported as openai-chat or trl-sft only",
    )


def test_few_shot_assistant_turns_get_weight_zero(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A prompt variant's few-shot assistant turn is in the OpenAI row with weight 0; the target trains."""
    project.suite(
        body="""
        prompts:
          shots:
            - system: "Answer in one word."
            - user: "Color of the sky?"
            - assistant: "Blue"
            - user: "{{ q }}"
        cases:
          - id: grass
            vars: { q: "Color of grass?" }
            ideal: "Green"
            assert: [ { equals: Green } ]
        """
    )
    pytester.runpytest("--pc-export", "out/shots.jsonl").assert_outcomes(failed=1)
    (row,) = read_jsonl(pytester.path / "out" / "shots.jsonl")
    assert row["messages"] == [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Color of the sky?"},
        {"role": "assistant", "content": "Blue", "weight": 0},
        {"role": "user", "content": "Color of grass?"},
        {"role": "assistant", "content": "Green"},
    ]
    check_openai_tool_chat(row)
    pytester.runpytest("--pc-export", "out/shots-trl.jsonl", "--pc-export-format", "trl-sft")
    (trl,) = read_jsonl(pytester.path / "out" / "shots-trl.jsonl")
    assert {"role": "assistant", "content": "Blue"} in trl["prompt"]  # TRL keeps it in the prompt: not trained on
