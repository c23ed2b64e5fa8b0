"""A real local HTTP server that speaks LLM wire protocols, for end-to-end provider tests.

Requests are routed by path (``ROUTES``): ``POST /v1/chat/completions`` speaks the OpenAI Chat
Completions protocol, ``POST /v1/messages`` the Anthropic Messages protocol (SDK base URL: the
server's root, ``url``); paths that hold a name are matched by pattern (``pattern_routes``: Azure
OpenAI's deployments in tests/llm_server_azure.py, Bedrock's Converse in tests/llm_server_bedrock.py); errors come in each API's own format (``ERROR_FORMATS``). The server binds 127.0.0.1 on a free port and serves each connection on its own thread
(HTTP/1.1 keep-alive, so SDK connection pools reuse connections).

What a test controls:

- ``responder``: a callable ``(RecordedRequest) -> str | Reply`` that decides each answer (default:
  echo the last user message), so a test scripts the outputs it needs;
- ``set_latency(seconds)``: a delay before every response;
- ``add_fault(kind, ...)``: fault rules — an HTTP error status (429 with ``Retry-After`` as integer
  seconds, an HTTP date, or ``retry-after-ms``; 500; any status), a response slower than the
  client's timeout, a malformed JSON body, a dropped connection — selected per request: the first
  N, every k-th, with a seeded probability, by content match or predicate, at most ``times`` times.

What a test observes: ``requests`` (every request's method, path, lower-cased headers, JSON body,
the fault applied and the status sent), ``request_count``, ``in_flight`` and ``peak_in_flight``
(most requests being handled at once), ``errors`` (exceptions raised by the responder).
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import http.server
import json
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

FaultKind = Literal["status", "slow", "malformed", "drop"]
FAULT_KINDS: tuple[str, ...] = ("status", "slow", "malformed", "drop")

_REASONS = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "service_unavailable",
}
# Anthropic's error types by status (https://docs.anthropic.com/en/api/errors); others are "api_error".
_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
# Our finish reasons (OpenAI's vocabulary, as in ``Reply``) as Anthropic stop reasons; others pass as is.
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


def _words(text: str) -> int:
    return len(text.split())


def content_text(content: Any) -> str:
    """A message's text: a plain string, or the text parts of a list of content parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


@dataclass
class RecordedRequest:
    """One request as the server received it, plus what the server did with it."""

    index: int  # 0-based, in order of arrival
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    raw: bytes
    body: Any  # the parsed JSON body, or None when it was not JSON
    received_at: float  # time.monotonic()
    client_port: int = 0  # the client's port: requests on one keep-alive connection share it
    fault: str | None = None  # kind of the fault rule applied, if any
    status: int | None = None  # HTTP status sent; None when the connection was dropped
    rule: Fault | None = field(default=None, repr=False)  # the fault rule applied

    @property
    def system(self) -> str:
        """The top-level ``system`` prompt's text (Anthropic Messages; "" when there is none)."""
        return content_text(self.body.get("system")) if isinstance(self.body, dict) else ""

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The ``tools`` the request sent, in its wire format ([] when none)."""
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        return tools if isinstance(tools, list) else []

    @property
    def tool_choice(self) -> Any:
        return self.body.get("tool_choice") if isinstance(self.body, dict) else None

    @property
    def last_user(self) -> str:
        """Text of the last ``user`` message ("" when there is none)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return content_text(message.get("content"))
        return ""

    @property
    def text(self) -> str:
        """The system prompt (Anthropic) and every message's text, joined by newlines (what content
        matching looks at)."""
        texts = [content_text(m.get("content")) for m in self.messages]
        return "\n".join([self.system, *texts] if self.system else texts)


@dataclass
class Reply:
    """A scripted answer; a responder may return a plain string instead (finish "stop", counted usage)."""

    content: str
    # In OpenAI's terms; the Anthropic route sends stop -> end_turn, length -> max_tokens,
    # tool_calls -> tool_use, content_filter -> refusal, anything else (stop_sequence, ...) as is.
    finish_reason: str = "stop"
    prompt_tokens: int | None = None  # default: whitespace-separated words in all messages (and system)
    completion_tokens: int | None = None  # default: words in ``content``
    model: str | None = None  # default: the model the request named
    usage: bool = True  # False leaves ``usage`` out of the body
    stop_sequence: str | None = None  # Anthropic: the stop sequence hit (finish_reason "stop_sequence")
    # Tool calls to answer with: (name, arguments) where arguments is a mapping, or raw text sent as is
    # (OpenAI) / as a non-object ``input`` (Anthropic), to test malformed arguments. With calls, a
    # "stop" finish becomes "tool_calls" (tool_use) and empty content is null (OpenAI) / no text block.
    tool_calls: list[tuple[str, Any]] = field(default_factory=list)


Responder = Callable[[RecordedRequest], "str | Reply"]


def echo(request: RecordedRequest) -> str:
    """The default responder: the last user message, unchanged."""
    return request.last_user


@dataclass
class Fault:
    """A fault rule. Filters (``path``, ``match``, ``when``) decide which requests it sees; it fires on
    a seen request when every given selector agrees (``first``, ``every``, ``probability``, ``times``);
    with no selector it fires on every request it sees. Rules are tried in the order added; the first
    that fires applies. Every rule counts the requests it sees, even when an earlier rule fired."""

    kind: FaultKind
    status: int = 500  # kind "status"
    retry_after: int | float | str | datetime | None = None  # Retry-After: seconds, or a datetime (HTTP date)
    retry_after_ms: int | float | None = None  # retry-after-ms header
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers (kind "status")
    message: str | None = None  # error message in the body (kind "status")
    error_body: bytes | None = None  # kind "status": this body instead of the API's error format (other servers)
    delay: float = 0.0  # kind "slow": seconds to wait before answering normally
    body: bytes = b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, "mess'
    content_type: str = "application/json"  # kind "malformed": the Content-Type sent with ``body``
    first: int | None = None  # the first N requests it sees
    every: int | None = None  # every k-th request it sees (the k-th, 2k-th, ...)
    probability: float | None = None  # each seen request with this probability ...
    seed: int = 0  # ... drawn from random.Random(seed)
    match: str | re.Pattern[str] | None = None  # substring of / regex searched in the messages' text
    when: Callable[[RecordedRequest], bool] | None = None  # any predicate on the request
    path: str | None = None  # only requests to this path
    times: int | None = None  # fire at most this many times
    seen: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {self.kind!r}")
        if self.kind == "slow" and self.delay <= 0:
            raise ValueError('a "slow" fault needs delay > 0 (seconds)')
        for name in ("first", "every", "times"):
            value = getattr(self, name)
            if value is not None and value < (0 if name in ("first", "times") else 1):
                raise ValueError(f"{name} must be a positive count, got {value!r}")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError(f"probability must be within [0, 1], got {self.probability!r}")
        self._rng = random.Random(self.seed)

    def _sees(self, request: RecordedRequest) -> bool:
        if self.path is not None and request.path.split("?")[0] != self.path:
            return False
        if isinstance(self.match, str) and self.match not in request.text:
            return False
        if isinstance(self.match, re.Pattern) and not self.match.search(request.text):
            return False
        return self.when is None or bool(self.when(request))

    def consider(self, request: RecordedRequest) -> bool:
        """Count ``request`` if this rule sees it; True when the rule fires on it (call under the server lock)."""
        if not self._sees(request):
            return False
        self.seen += 1
        draw = self._rng.random() if self.probability is not None else 0.0  # one draw per seen request
        fires = (
            (self.first is None or self.seen <= self.first)
            and (self.every is None or self.seen % self.every == 0)
            and (self.probability is None or draw < self.probability)
            and (self.times is None or self.fired < self.times)
        )
        if fires:
            self.fired += 1
        return fires

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if isinstance(self.retry_after, datetime):
            when = self.retry_after if self.retry_after.tzinfo else self.retry_after.replace(tzinfo=timezone.utc)
            headers["Retry-After"] = email.utils.format_datetime(when.astimezone(timezone.utc), usegmt=True)
        elif self.retry_after is not None:
            value = self.retry_after
            headers["Retry-After"] = f"{value:g}" if isinstance(value, (int, float)) else str(value)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = f"{self.retry_after_ms:g}"
        return headers


class _Dropped(Exception):
    """Raised inside a handler to close the connection without a response."""


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), dict(headers or {}))


def openai_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    kind = _REASONS.get(status, "api_error")
    return json_response(status, {"error": {"message": message, "type": kind, "param": None, "code": kind}}, headers)


def anthropic_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    kind = _ANTHROPIC_ERRORS.get(status, "api_error")
    headers = {"request-id": "req_promptcheck_test", **(headers or {})}
    return json_response(status, {"type": "error", "error": {"type": kind, "message": message}}, headers)


# -- routes: one function per API; each turns a request into a response ---------------------------


def openai_chat_completions(server: LLMServer, request: RecordedRequest) -> Response:
    body = request.body
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not request.messages:
        return openai_error(400, "the body must be a JSON object with `model` and a non-empty `messages` list")
    if body.get("stream"):
        return openai_error(400, "stream=true is not supported by the test server")
    reply = server.reply_for(request)
    prompt_tokens = reply.prompt_tokens if reply.prompt_tokens is not None else _words(request.text)
    completion_tokens = reply.completion_tokens if reply.completion_tokens is not None else _words(reply.content)
    n = body.get("n")
    choice_count = n if isinstance(n, int) and n > 0 else 1
    payload: dict[str, Any] = {
        "id": f"chatcmpl-test-{request.index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or body["model"],
        "system_fingerprint": "fp_promptcheck_test",
        "choices": [
            {
                "index": i,
                "message": _openai_message(reply, request.index),
                "logprobs": None,
                "finish_reason": _finish(reply),
            }
            for i in range(choice_count)
        ],
    }
    if reply.usage:
        payload["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    return json_response(200, payload)


def _finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls and reply.finish_reason == "stop" else reply.finish_reason


def _openai_message(reply: Reply, index: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.tool_calls:
        message["content"] = reply.content or None
        message["tool_calls"] = [
            {"id": f"call_{index}_{i}", "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for i, (name, args) in enumerate(reply.tool_calls)
        ]  # fmt: skip
    return message


def _anthropic_content(reply: Reply, index: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": reply.content}]
    if reply.tool_calls:
        blocks = blocks if reply.content else []
        blocks += [
            {"type": "tool_use", "id": f"toolu_{index:04d}_{i}", "name": name, "input": args}
            for i, (name, args) in enumerate(reply.tool_calls)
        ]
    return blocks


def _anthropic_invalid(body: Any) -> str | None:
    """Why the real Messages API would answer 400 to ``body`` (the essentials), or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        return "max_tokens: Field required"
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Input should be a valid integer greater than or equal to 1"
    if body.get("stream"):
        return "stream: true is not supported by the test server"
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        return "system: Input should be a valid string or a list of text blocks"
    stops = body.get("stop_sequences")
    if stops is not None and not (isinstance(stops, list) and all(isinstance(s, str) for s in stops)):
        return "stop_sequences: Input should be a valid list of strings"
    return _anthropic_invalid_messages(body.get("messages"))


def _anthropic_invalid_messages(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    previous = None
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return (
                f"messages.{i}.role: Unexpected role {role!r}. The Messages API accepts a top-level `system` "
                'parameter, not "system" as an input message role; roles are "user" and "assistant"'
            )
        if not isinstance(message.get("content"), (str, list)):
            return f"messages.{i}.content: Input should be a valid string or a list of content blocks"
        if i == 0 and role != "user":
            return 'messages: first message must use the "user" role'
        if role == previous:
            return f'messages: roles must alternate between "user" and "assistant" (messages.{i} repeats {role!r})'
        previous = role
    return None


def anthropic_messages(server: LLMServer, request: RecordedRequest) -> Response:
    """``POST /v1/messages``: validates like the real API in the essentials, then answers a ``message``."""
    problem = _anthropic_invalid(request.body)
    if problem is not None:
        return anthropic_error(400, problem)
    body = request.body
    reply = server.reply_for(request)
    stop_reason = _STOP_REASONS.get(_finish(reply), _finish(reply))
    stop_sequence = reply.stop_sequence
    if stop_reason == "stop_sequence" and stop_sequence is None and body.get("stop_sequences"):
        stop_sequence = body["stop_sequences"][0]
    payload: dict[str, Any] = {
        "id": f"msg_test_{request.index:06d}",
        "type": "message",
        "role": "assistant",
        "model": reply.model or body["model"],
        "content": _anthropic_content(reply, request.index),
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
    }
    if reply.usage:
        payload["usage"] = {
            "input_tokens": reply.prompt_tokens if reply.prompt_tokens is not None else _words(request.text),
            "output_tokens": reply.completion_tokens if reply.completion_tokens is not None else _words(reply.content),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
    return json_response(200, payload, {"request-id": f"req_test_{request.index:06d}"})


Route = Callable[["LLMServer", RecordedRequest], Response]
ErrorFormat = Callable[[int, str, "dict[str, str] | None"], Response]

# Adding an API: its route here, and its error body format in ERROR_FORMATS (used for injected
# status faults, responder errors and 404s).
ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/v1/chat/completions"): openai_chat_completions,
    ("POST", "/v1/messages"): anthropic_messages,
}
ERROR_FORMATS: dict[str, ErrorFormat] = {
    "/v1/chat/completions": openai_error,
    "/v1/messages": anthropic_error,
}


# Routes whose path holds a name or an id (Azure's deployment, Bedrock's model id, a batch's id), each with its error format:
# (method, path regex, route, error format), from their own modules (which import this one), on first use.
PatternRoute = tuple[str, "re.Pattern[str]", Route, ErrorFormat]


@functools.cache
def pattern_routes() -> tuple[PatternRoute, ...]:
    import llm_server_azure
    import llm_server_batches
    import llm_server_bedrock

    return (*llm_server_azure.ROUTES, *llm_server_bedrock.ROUTES, *llm_server_batches.ROUTES)


def _pattern_route(method: str | None, path: str) -> PatternRoute | None:
    """The pattern route of ``path`` (any method when ``method`` is None)."""
    bare = path.split("?")[0]
    return next((r for r in pattern_routes() if method in (None, r[0]) and r[1].fullmatch(bare)), None)


def error_response(path: str, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error in the format of the API that ``path`` belongs to (OpenAI's by default)."""
    found = ERROR_FORMATS.get(path.split("?")[0])
    pattern = _pattern_route(None, path) if found is None else None
    return (found or (pattern[3] if pattern else openai_error))(status, message, headers)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries Content-Length
    server_version = "promptcheck-test-llm/1"
    timeout = 30  # an idle keep-alive connection's thread ends after this at the latest
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.llm._track(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.llm._untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        llm = self.server.llm
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = llm._arrive(self.command, self.path, headers, raw, body, self.client_address[1])
        departed = False
        try:
            response = llm._respond(request)
            request.status = response.status  # before sending: a client that has the answer sees it recorded
            llm._depart()  # also before sending: a client that has the answer never sees it still in flight
            departed = True
            self._send(response)
        except _Dropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:  # the client went away (e.g. it timed out first)
            self.close_connection = True
        finally:
            if not departed:
                llm._depart()

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)
        self.wfile.flush()


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: nothing outlives stop()
    block_on_close = True
    request_queue_size = 256  # 20+ clients connecting at once must not overflow the backlog
    allow_reuse_address = True
    llm: LLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:  # a client hanging up is not news
        pass


class LLMServer:
    """A local LLM API server for tests; ``start()``/``stop()`` or use it as a context manager."""

    def __init__(self, responder: Responder | None = None, *, latency: float = 0.0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.responder: Responder = responder or echo
        self.latency = latency
        self.errors: list[BaseException] = []  # what the responder raised (each also answered with a 500)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._connections: set[socket.socket] = set()
        self._in_flight = 0
        self._peak = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> LLMServer:
        httpd = _HTTPServer((self.host, 0), _Handler)
        httpd.llm = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="test-llm-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake handlers that wait (latency, slow faults), close every connection, join."""
        httpd = self._httpd
        if httpd is None:
            return
        with self._lock:
            self._stopping.set()
            connections = list(self._connections)
        httpd.shutdown()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The root, e.g. ``http://127.0.0.1:PORT`` (Anthropic-style SDKs append ``/v1/...`` themselves)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """The Anthropic SDK's base URL: the root (the SDK posts to ``{base_url}/v1/messages``)."""
        return self.url

    # -- control -----------------------------------------------------------------------------------
    def set_latency(self, seconds: float) -> None:
        """Delay every response (faulted ones too) by ``seconds``."""
        self.latency = float(seconds)

    def add_fault(self, kind: FaultKind | Fault, **options: Any) -> Fault:
        """Add a fault rule: ``add_fault("status", status=429, retry_after=2, first=1)``; see :class:`Fault`."""
        fault = kind if isinstance(kind, Fault) else Fault(kind=kind, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Back to a fresh server on the same port: no requests, faults, latency or errors; echo responder."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._peak = self._in_flight
            self.errors.clear()
        self.latency = 0.0
        self.responder = echo

    # -- observation -------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, in order of arrival."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most requests being handled at the same time since start (or reset)."""
        with self._lock:
            return self._peak

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` requests have arrived; False on timeout."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._requests) >= count, timeout=timeout)

    # -- internals (called from handler threads) ----------------------------------------------------
    def reply_for(self, request: RecordedRequest) -> Reply:
        try:
            reply = self.responder(request)
        except Exception as exc:
            self.errors.append(exc)
            raise
        return Reply(content=reply) if isinstance(reply, str) else reply

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            if self._stopping.is_set():
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _arrive(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, body: Any, client_port: int
    ) -> RecordedRequest:
        with self._arrived:
            index = len(self._requests)
            request = RecordedRequest(index, method, path, headers, raw, body, time.monotonic(), client_port)
            self._requests.append(request)
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            for fault in self._faults:
                if fault.consider(request) and request.rule is None:
                    request.rule, request.fault = fault, fault.kind
            self._arrived.notify_all()
        return request

    def _depart(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self._stopping.wait(seconds):
            raise _Dropped  # stopping: don't answer

    def _respond(self, request: RecordedRequest) -> Response:
        self._wait(self.latency)
        fault = request.rule
        if fault is not None:
            if fault.kind == "drop":
                raise _Dropped
            if fault.kind == "status":
                if fault.error_body is not None:
                    return Response(fault.status, fault.error_body, headers=fault.response_headers())
                message = fault.message or f"injected HTTP {fault.status} (test server)"
                return error_response(request.path, fault.status, message, fault.response_headers())
            if fault.kind == "malformed":
                return Response(200, fault.body, content_type=fault.content_type)
            self._wait(fault.delay)  # "slow": then answer normally
        route = ROUTES.get((request.method, request.path.split("?")[0]))
        if route is None and (pattern := _pattern_route(request.method, request.path)) is not None:
            route = pattern[2]
        if route is None:
            return error_response(request.path, 404, f"no route for {request.method} {request.path} on the test server")
        try:
            return route(self, request)
        except Exception as exc:  # a responder bug: answer 500 and keep it for the test to see
            return error_response(request.path, 500, f"test server responder raised {type(exc).__name__}: {exc}")
