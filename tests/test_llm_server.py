"""The local LLM API server itself (tests/llm_server.py): later engine tests rely on what it counts."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import threading
import time
from typing import Any

import pytest

from llm_server import LLMServer, RecordedRequest, Reply


def post(
    server: LLMServer, text: str = "hi", *, path: str = "/v1/chat/completions", body: Any = None
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request (no SDK): status, lower-cased headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        payload = body if body is not None else {"model": "m", "messages": [{"role": "user", "content": text}]}
        connection.request("POST", path, json.dumps(payload), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def statuses(server: LLMServer, count: int) -> list[int]:
    return [post(server, f"request {i}")[0] for i in range(count)]


def test_chat_completion_body(llm_server: LLMServer) -> None:
    status, headers, raw = post(llm_server, "say this back")
    assert (status, headers["content-type"]) == (200, "application/json")
    body = json.loads(raw)
    assert body["object"] == "chat.completion" and body["id"] and isinstance(body["created"], int)
    assert body["model"] == "m"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "say this back", "refusal": None}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
    (request,) = llm_server.requests
    assert request.body["messages"][0]["content"] == "say this back"
    assert request.last_user == "say this back" and request.status == 200


def test_responder_scripts_the_reply(llm_server: LLMServer) -> None:
    llm_server.responder = lambda r: Reply(r.last_user.upper(), finish_reason="length", usage=False, model="m-2")
    body = json.loads(post(llm_server, "loud")[2])
    assert body["choices"][0]["message"]["content"] == "LOUD"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["model"] == "m-2" and "usage" not in body


def test_responder_error_is_a_500_and_kept(llm_server: LLMServer) -> None:
    def broken(request: RecordedRequest) -> str:
        raise KeyError("oops")

    llm_server.responder = broken
    status, _, raw = post(llm_server)
    assert status == 500 and "KeyError" in json.loads(raw)["error"]["message"]
    assert isinstance(llm_server.errors[0], KeyError)


def test_routes_and_bad_requests(llm_server: LLMServer) -> None:
    assert post(llm_server, path="/v1/nope")[0] == 404
    assert post(llm_server, body={"model": "m"})[0] == 400
    assert [r.status for r in llm_server.requests] == [404, 400]


def _events(raw: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) of each SSE event in a body (http.client has undone the chunking)."""
    found = []
    for block in raw.decode().strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((fields.get("event"), fields["data"]))
    return found


@pytest.mark.parametrize(
    ("path", "extra", "first", "last"),
    [
        ("/v1/chat/completions", {"stream_options": {"include_usage": True}}, None, (None, "[DONE]")),
        ("/v1/messages", {"max_tokens": 5}, "message_start", ("message_stop", '{"type": "message_stop"}')),
        ("/v1/responses", {"input": "a b"}, "response.created", ("response.completed", None)),
    ],
)
def test_streams_are_sse_in_each_protocols_form(
    llm_server: LLMServer, path: str, extra: dict[str, Any], first: str | None, last: tuple[str | None, str | None]
) -> None:
    """``stream: true`` answers Server-Sent Events, chunked (keep-alive holds); the text arrives in pieces."""
    llm_server.responder = lambda r: Reply("a b c", first_token_delay=0.2)
    body = {"model": "m", "stream": True, **extra}
    if path != "/v1/responses":
        body["messages"] = [{"role": "user", "content": "a b"}]
    started = time.monotonic()
    status, headers, raw = post(llm_server, body=body, path=path)
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert headers["transfer-encoding"] == "chunked"
    assert time.monotonic() - started >= 0.2
    events = _events(raw)
    assert events[0][0] == first and events[-1][0] == last[0]
    if last[1] is not None:
        assert events[-1][1] == last[1]
    texts = [json.loads(d) for _, d in events if d != "[DONE]"]
    if path == "/v1/chat/completions":
        assert "".join(t["choices"][0]["delta"].get("content", "") for t in texts if t["choices"]) == "a b c"
        assert texts[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}


def test_fault_first_n(llm_server: LLMServer) -> None:
    llm_server.add_fault("status", status=500, first=2)
    assert statuses(llm_server, 4) == [500, 500, 200, 200]


def test_fault_every_kth_and_times(llm_server: LLMServer) -> None:
    llm_server.add_fault("status", status=503, every=3, times=2)
    assert statuses(llm_server, 10) == [200, 200, 503, 200, 200, 503, 200, 200, 200, 200]


def test_fault_probability_is_seeded(llm_server: LLMServer) -> None:
    llm_server.add_fault("status", status=500, probability=0.5, seed=7)
    first = statuses(llm_server, 20)
    assert 0 < first.count(500) < 20
    llm_server.reset()
    llm_server.add_fault("status", status=500, probability=0.5, seed=7)
    assert statuses(llm_server, 20) == first  # same seed, same requests hit


def test_fault_by_content_predicate_and_order(llm_server: LLMServer) -> None:
    llm_server.add_fault("status", status=400, match="bad")
    llm_server.add_fault("status", status=401, match=re.compile(r"^auth\b"))
    llm_server.add_fault("status", status=402, when=lambda r: r.last_user.endswith("!"))
    llm_server.add_fault("status", status=500, match="bad")  # never reached: an earlier rule fires first
    assert [post(llm_server, t)[0] for t in ("ok", "bad", "auth me", "pay!", "bad!")] == [200, 400, 401, 402, 400]
    assert [r.fault for r in llm_server.requests] == [None, "status", "status", "status", "status"]


def test_retry_after_forms(llm_server: LLMServer) -> None:
    from datetime import datetime, timezone

    llm_server.add_fault("status", status=429, retry_after=2, first=1)
    llm_server.add_fault("status", status=429, retry_after=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc), first=2)
    llm_server.add_fault("status", status=429, retry_after_ms=250, first=3)
    first, second, third = (post(llm_server)[1] for _ in range(3))
    assert first["retry-after"] == "2"
    assert second["retry-after"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert third["retry-after-ms"] == "250" and "retry-after" not in third


def test_malformed_drop_and_slow(llm_server: LLMServer) -> None:
    llm_server.add_fault("malformed", first=1)
    status, _, raw = post(llm_server)
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(raw)
    llm_server.reset()
    llm_server.add_fault("drop")
    with pytest.raises(http.client.RemoteDisconnected):
        post(llm_server)
    assert llm_server.requests[0].status is None and llm_server.requests[0].fault == "drop"
    llm_server.reset()
    llm_server.add_fault("slow", delay=0.2)
    start = time.monotonic()
    assert post(llm_server)[0] == 200
    assert time.monotonic() - start >= 0.2


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="kind"):
        LLMServer().add_fault("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delay"):
        LLMServer().add_fault("slow")


def test_stop_does_not_wait_for_slow_requests() -> None:
    server = LLMServer(latency=30).start()

    def client() -> None:
        with pytest.raises(OSError):  # the connection is closed without an answer
            post(server)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    assert server.wait_for_requests(1, timeout=5)
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 2
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_reset(llm_server: LLMServer) -> None:
    llm_server.set_latency(0.01)
    llm_server.add_fault("status", status=500)
    llm_server.responder = lambda r: "x"
    post(llm_server)
    llm_server.reset()
    assert (llm_server.requests, llm_server.peak_in_flight, llm_server.latency) == ([], 0, 0.0)
    status, _, raw = post(llm_server, "echo")
    assert status == 200 and json.loads(raw)["choices"][0]["message"]["content"] == "echo"


# -- concurrency, through the real SDK ---------------------------------------------------------------


def test_peak_in_flight_with_concurrent_sdk_calls(llm_server: LLMServer) -> None:
    """10 concurrent SDK calls against a 0.2 s latency: the server sees them in flight together."""
    openai = pytest.importorskip("openai")
    llm_server.set_latency(0.2)

    async def main() -> list[str]:
        async with openai.AsyncOpenAI(api_key="k", base_url=llm_server.base_url, max_retries=0, timeout=5) as client:
            replies = await asyncio.gather(*(
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"n{i}"}])
                for i in range(10)
            ))  # fmt: skip
            return [r.choices[0].message.content or "" for r in replies]

    assert sorted(asyncio.run(main())) == sorted(f"n{i}" for i in range(10))
    assert llm_server.request_count == 10
    assert llm_server.peak_in_flight >= 5
    assert llm_server.in_flight == 0


def test_many_concurrent_keep_alive_connections(llm_server: LLMServer) -> None:
    """30 concurrent calls, twice on one client: all answered, and the second wave reuses connections."""
    openai = pytest.importorskip("openai")
    llm_server.set_latency(0.15)

    async def main() -> None:
        async with openai.AsyncOpenAI(api_key="k", base_url=llm_server.base_url, max_retries=0, timeout=10) as client:
            for wave in range(2):
                replies = await asyncio.gather(*(
                    client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"{wave}-{i}"}])
                    for i in range(30)
                ))  # fmt: skip
                assert sorted(r.choices[0].message.content or "" for r in replies) == sorted(
                    f"{wave}-{i}" for i in range(30)
                )

    asyncio.run(main())
    requests = llm_server.requests
    assert len(requests) == 60 and all(r.status == 200 for r in requests)
    assert llm_server.peak_in_flight >= 20
    first_ports = {r.client_port for r in requests[:30]}
    assert {r.client_port for r in requests[30:]} <= first_ports  # keep-alive: no new connections


# -- the Anthropic Messages route ------------------------------------------------------------------


def message_body(*messages: tuple[str, str], **fields: Any) -> dict[str, Any]:
    """A Messages API body: ``message_body(("user", "hi"), system="s")``; max_tokens 16 unless given."""
    return {
        "model": "claude-t",
        "max_tokens": 16,
        **fields,
        "messages": [{"role": r, "content": c} for r, c in messages],
    }


def post_messages(server: LLMServer, body: Any) -> tuple[int, dict[str, str], Any]:
    status, headers, raw = post(server, path="/v1/messages", body=body)
    return status, headers, json.loads(raw)


def test_anthropic_message_body(llm_server: LLMServer) -> None:
    body = message_body(("user", "say this back"), system="Be brief.")
    status, headers, reply = post_messages(llm_server, body)
    assert (status, headers["content-type"]) == (200, "application/json")
    assert reply["id"].startswith("msg_") and headers["request-id"]
    assert (reply["type"], reply["role"], reply["model"]) == ("message", "assistant", "claude-t")
    assert reply["content"] == [{"type": "text", "text": "say this back"}]
    assert (reply["stop_reason"], reply["stop_sequence"]) == ("end_turn", None)
    assert reply["usage"]["input_tokens"] == 5  # the system prompt counts
    assert reply["usage"]["output_tokens"] == 3
    (request,) = llm_server.requests
    assert (request.system, request.last_user, request.status) == ("Be brief.", "say this back", 200)
    assert request.text == "Be brief.\nsay this back"


def test_anthropic_content_blocks_and_system_blocks(llm_server: LLMServer) -> None:
    body = message_body(("user", "x"), system=[{"type": "text", "text": "sys"}])
    body["messages"] = [
        {"role": "user", "content": [{"type": "text", "text": "from "}, {"type": "text", "text": "blocks"}]}
    ]
    status, _, reply = post_messages(llm_server, body)
    assert status == 200 and reply["content"][0]["text"] == "from blocks"
    assert llm_server.requests[0].system == "sys"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}]}, "max_tokens: Field required"),
        (message_body(("user", "hi"), max_tokens=0), "max_tokens: Input should be"),
        ({"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}, "model: Field required"),
        (message_body(), "at least one message"),
        (message_body(("assistant", "hi")), 'first message must use the "user" role'),
        (message_body(("user", "a"), ("user", "b")), "roles must alternate"),
        (message_body(("user", "a"), ("assistant", "b"), ("assistant", "c")), "roles must alternate"),
        (message_body(("system", "s"), ("user", "hi")), "top-level `system` parameter"),
        (message_body(("user", "hi"), stop_sequences="END"), "stop_sequences"),
        ([1, 2], "JSON object"),
    ],
)
def test_anthropic_rejects_what_the_api_rejects(llm_server: LLMServer, body: Any, message: str) -> None:
    status, _, reply = post_messages(llm_server, body)
    assert status == 400
    assert reply["type"] == "error" and reply["error"]["type"] == "invalid_request_error"
    assert message in reply["error"]["message"]
    assert llm_server.requests[0].status == 400


def test_anthropic_alternating_conversation_is_accepted(llm_server: LLMServer) -> None:
    body = message_body(("user", "a"), ("assistant", "b"), ("user", "c"))
    status, _, reply = post_messages(llm_server, body)
    assert status == 200 and reply["content"][0]["text"] == "c"


@pytest.mark.parametrize(
    ("finish", "stop_sequence", "stop_reason", "sent_sequence"),
    [
        ("stop", None, "end_turn", None),
        ("length", None, "max_tokens", None),
        ("tool_calls", None, "tool_use", None),
        ("content_filter", None, "refusal", None),
        ("stop_sequence", None, "stop_sequence", "END"),  # default: the request's first stop sequence
        ("stop_sequence", "###", "stop_sequence", "###"),
        ("pause_turn", None, "pause_turn", None),  # anything else as is
    ],
)
def test_anthropic_stop_reasons(
    llm_server: LLMServer, finish: str, stop_sequence: str | None, stop_reason: str, sent_sequence: str | None
) -> None:
    llm_server.responder = lambda r: Reply("out", finish_reason=finish, stop_sequence=stop_sequence)
    _, _, reply = post_messages(llm_server, message_body(("user", "hi"), stop_sequences=["END", "###"]))
    assert (reply["stop_reason"], reply["stop_sequence"]) == (stop_reason, sent_sequence)


def test_anthropic_scripted_usage_and_model(llm_server: LLMServer) -> None:
    llm_server.responder = lambda r: Reply("ok", prompt_tokens=11, completion_tokens=2, model="claude-t-2026")
    _, _, reply = post_messages(llm_server, message_body(("user", "hi")))
    assert reply["model"] == "claude-t-2026"
    assert (reply["usage"]["input_tokens"], reply["usage"]["output_tokens"]) == (11, 2)
    llm_server.responder = lambda r: Reply("ok", usage=False)
    assert "usage" not in post_messages(llm_server, message_body(("user", "hi")))[2]


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"),
     (404, "not_found_error"), (429, "rate_limit_error"), (500, "api_error"), (503, "api_error"),
     (529, "overloaded_error")],
)  # fmt: skip
def test_anthropic_error_format_for_status_faults(llm_server: LLMServer, status: int, kind: str) -> None:
    llm_server.add_fault("status", status=status, retry_after=3, message="nope")
    got, headers, reply = post_messages(llm_server, message_body(("user", "hi")))
    assert got == status and headers["retry-after"] == "3" and headers["request-id"]
    assert reply == {"type": "error", "error": {"type": kind, "message": "nope"}}
    assert post(llm_server)[0] == status  # the OpenAI route keeps its own format
    assert json.loads(post(llm_server)[2])["error"]["message"] == "nope"


def test_anthropic_responder_error_and_fault_by_system_match(llm_server: LLMServer) -> None:
    def broken(request: RecordedRequest) -> str:
        raise KeyError("oops")

    llm_server.responder = broken
    status, _, reply = post_messages(llm_server, message_body(("user", "hi")))
    assert status == 500 and reply["error"]["type"] == "api_error" and "KeyError" in reply["error"]["message"]
    llm_server.reset()
    llm_server.add_fault("status", status=529, match="grumpy")  # matches the system prompt too
    assert post_messages(llm_server, message_body(("user", "hi"), system="be grumpy"))[0] == 529
    assert post_messages(llm_server, message_body(("user", "hi"), system="be kind"))[0] == 200


def test_anthropic_sdk_round_trip(llm_server: LLMServer) -> None:
    """The real SDK against ``anthropic_base_url``: it posts to /v1/messages and parses the answer."""
    anthropic = pytest.importorskip("anthropic")
    llm_server.responder = lambda r: Reply("cut", finish_reason="length", prompt_tokens=4, completion_tokens=1)

    async def main() -> Any:
        async with anthropic.AsyncAnthropic(
            api_key="k", base_url=llm_server.anthropic_base_url, max_retries=0, timeout=5
        ) as client:
            return await client.messages.create(
                model="claude-t", max_tokens=5, system="s", messages=[{"role": "user", "content": "hi"}]
            )

    message = asyncio.run(main())
    assert message.content[0].text == "cut" and message.stop_reason == "max_tokens"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (4, 1)
    (request,) = llm_server.requests
    assert (request.method, request.path, request.status) == ("POST", "/v1/messages", 200)
    assert request.body == {
        "model": "claude-t", "max_tokens": 5, "system": "s", "messages": [{"role": "user", "content": "hi"}]
    }  # fmt: skip
