"""The batch APIs of the test server (tests/llm_server.py): OpenAI Files + Batches, Anthropic Message Batches.

Its routes are in ``llm_server.pattern_routes()``, so every ``llm_server`` speaks them:

- OpenAI: ``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files/{id}/content``,
  ``POST /v1/batches``, ``GET /v1/batches/{id}``; states validating → in_progress → completed /
  expired / cancelled, with ``output_file_id`` (answers) and ``error_file_id`` (per-request errors,
  expired and cancelled requests).
- Anthropic: ``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}``,
  ``GET /v1/messages/batches/{id}/results`` (JSONL); ``processing_status`` in_progress → ended,
  result types succeeded / errored / expired / canceled.

Each batched request is answered when the batch is created, through the same routes (so the same
``responder``) as a direct call; the server's fault rules apply to it as to a direct request (a
``status`` fault makes that request's result an error). What a test controls and sees is on
:func:`book` ``(server)``: ``hold_polls`` (retrieves answered "in progress" before a batch ends),
``end`` ("completed", "expired", "cancelled") with ``answered_before_end`` (how many requests got an
answer before an expired or cancelled batch stopped), and ``created`` (batches created),
``polls``, ``inner`` (the batched requests as answered).
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import llm_server
from llm_server import (
    LLMServer,
    RecordedRequest,
    Response,
    anthropic_error,
    anthropic_messages,
    error_response,
    json_response,
    openai_chat_completions,
    openai_error,
)

_EXPIRED = "This request could not be executed before the completion window expired."
_CANCELLED = "This request was not executed because the batch was cancelled."


@dataclass
class _Batch:
    api: str  # "openai" | "anthropic"
    id: str
    created_at: float
    results: list[tuple[str, Response | None]]  # (custom_id, answer); None: never answered (expired/cancelled)
    input_file_id: str = ""
    polls: int = 0
    ended: bool = False
    output_file_id: str | None = None
    error_file_id: str | None = None


@dataclass
class BatchBook:
    """The batch state of one server, and the knobs a test turns."""

    hold_polls: int = 0
    end: str = "completed"
    answered_before_end: int = 0
    created: int = 0
    polls: int = 0
    inner: list[RecordedRequest] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, _Batch] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}"


_BOOK_LOCK = threading.Lock()


def book(server: LLMServer) -> BatchBook:
    """The server's batch state (made on first use)."""
    with _BOOK_LOCK:
        found = server.__dict__.get("batch_book")
        if found is None:
            found = server.__dict__["batch_book"] = BatchBook()
        return found  # type: ignore[no-any-return]


def _answer(server: LLMServer, state: BatchBook, path: str, body: Any) -> Response:
    """One batched request answered like a direct one: the same fault rules, then the same route."""
    route = openai_chat_completions if path == "/v1/chat/completions" else anthropic_messages
    raw = json.dumps(body).encode()
    inner = RecordedRequest(100_000 + len(state.inner), "POST", path, {}, raw, body, time.monotonic())
    with server._lock:
        for fault in server._faults:
            if fault.consider(inner) and inner.rule is None:
                inner.rule, inner.fault = fault, fault.kind
    state.inner.append(inner)
    if inner.rule is not None and inner.rule.kind == "status":
        response = error_response(path, inner.rule.status, inner.rule.message or f"injected HTTP {inner.rule.status}")
    else:
        try:
            response = route(server, inner)
        except Exception as exc:
            response = error_response(path, 500, f"test server responder raised {type(exc).__name__}: {exc}")
    inner.status = response.status
    return response


def _answer_all(server: LLMServer, state: BatchBook, path: str, requests: list[tuple[str, Any]]) -> list[Any]:
    """Answers per request; with an ``end`` other than completed, only the first ``answered_before_end``."""
    results: list[tuple[str, Response | None]] = []
    for index, (custom_id, body) in enumerate(requests):
        stopped = state.end != "completed" and index >= state.answered_before_end
        results.append((custom_id, None if stopped else _answer(server, state, path, body)))
    return results


def _poll(state: BatchBook, batch: _Batch) -> bool:
    """Count a retrieve; True once the batch has ended."""
    state.polls += 1
    batch.polls += 1
    if batch.polls > state.hold_polls:
        batch.ended = True
    return batch.ended


# -- OpenAI ---------------------------------------------------------------------------------------


def _multipart(request: RecordedRequest) -> dict[str, bytes]:
    content_type = request.headers.get("content-type", "")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.raw)
    parts: dict[str, bytes] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if name:
            parts[str(name)] = part.get_payload(decode=True) or b""
    return parts


def openai_files_create(server: LLMServer, request: RecordedRequest) -> Response:
    parts = _multipart(request)
    if "file" not in parts or parts.get("purpose") != b"batch":
        return openai_error(400, "multipart fields `file` and `purpose=batch` are required (test server)")
    state = book(server)
    with state.lock:
        file_id = state.next_id("file-test-")
        state.files[file_id] = parts["file"]
    return json_response(200, _file_object(file_id, parts["file"]))


def _file_object(file_id: str, data: bytes) -> dict[str, Any]:
    return {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
            "filename": "batch.jsonl", "purpose": "batch", "status": "processed"}  # fmt: skip


def openai_files_content(server: LLMServer, request: RecordedRequest) -> Response:
    file_id = request.path.split("?")[0].split("/")[3]
    data = book(server).files.get(file_id)
    if data is None:
        return openai_error(404, f"no file {file_id!r}")
    return Response(200, data, content_type="application/octet-stream")


def openai_batches_create(server: LLMServer, request: RecordedRequest) -> Response:
    body = request.body if isinstance(request.body, dict) else {}
    state = book(server)
    data = state.files.get(str(body.get("input_file_id")))
    if data is None or body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
        return openai_error(
            400, "input_file_id (an uploaded file), endpoint /v1/chat/completions, completion_window 24h"
        )
    requests = []
    for number, line in enumerate(data.decode().splitlines(), 1):
        entry = json.loads(line)
        if entry.get("method") != "POST" or entry.get("url") != "/v1/chat/completions" or "custom_id" not in entry:
            return openai_error(
                400, f"line {number} of the input file: custom_id, method POST, url /v1/chat/completions"
            )
        requests.append((entry["custom_id"], entry.get("body")))
    with state.lock:
        batch = _Batch(
            "openai", state.next_id("batch_test_"), time.time(), [], input_file_id=str(body["input_file_id"])
        )
        state.batches[batch.id] = batch
        state.created += 1
        batch.results = _answer_all(server, state, "/v1/chat/completions", requests)
        return json_response(200, _openai_batch(batch, "validating"))


def openai_batches_retrieve(server: LLMServer, request: RecordedRequest) -> Response:
    state = book(server)
    batch_id = request.path.split("?")[0].rsplit("/", 1)[1]
    with state.lock:
        batch = state.batches.get(batch_id)
        if batch is None or batch.api != "openai":
            return openai_error(404, f"no batch {batch_id!r}")
        if not _poll(state, batch):
            return json_response(200, _openai_batch(batch, "in_progress"))
        if batch.output_file_id is None and batch.error_file_id is None:
            _openai_files(state, batch)
        return json_response(200, _openai_batch(batch, state.end))


def _openai_files(state: BatchBook, batch: _Batch) -> None:
    ok, failed = [], []
    for number, (custom_id, response) in enumerate(batch.results):
        line: dict[str, Any] = {"id": f"batch_req_{number}", "custom_id": custom_id, "response": None, "error": None}
        if response is None:
            code = "batch_expired" if state.end == "expired" else "batch_cancelled"
            line["error"] = {"code": code, "message": _EXPIRED if state.end == "expired" else _CANCELLED}
            failed.append(line)
            continue
        line["response"] = {"status_code": response.status, "request_id": f"req_{number}",
                            "body": json.loads(response.body)}  # fmt: skip
        (ok if response.status == 200 else failed).append(line)
    for lines, attr in ((ok, "output_file_id"), (failed, "error_file_id")):
        if lines:
            file_id = state.next_id("file-test-")
            state.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
            setattr(batch, attr, file_id)


def _openai_batch(batch: _Batch, status: str) -> dict[str, Any]:
    done = status not in ("validating", "in_progress")
    answered = [r for _, r in batch.results if r is not None] if done else []
    completed = sum(r.status == 200 for r in answered)
    return {
        "id": batch.id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
        "input_file_id": batch.input_file_id, "completion_window": "24h", "status": status,
        "output_file_id": batch.output_file_id if done else None,
        "error_file_id": batch.error_file_id if done else None,
        "created_at": int(batch.created_at), "in_progress_at": None, "expires_at": int(batch.created_at) + 86400,
        "completed_at": None, "failed_at": None, "expired_at": None, "cancelled_at": None,
        "request_counts": {"total": len(batch.results), "completed": completed, "failed": len(answered) - completed},
        "metadata": None,
    }  # fmt: skip


# -- Anthropic ------------------------------------------------------------------------------------


def anthropic_batches_create(server: LLMServer, request: RecordedRequest) -> Response:
    body = request.body if isinstance(request.body, dict) else {}
    entries = body.get("requests")
    if not isinstance(entries, list) or not entries:
        return anthropic_error(400, "requests: at least one request is required")
    requests = []
    for i, entry in enumerate(entries):
        custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
        if not isinstance(custom_id, str) or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", custom_id):
            return anthropic_error(400, f"requests.{i}.custom_id: 1-64 letters, digits, _ or -")
        requests.append((custom_id, entry.get("params")))
    state = book(server)
    with state.lock:
        batch = _Batch("anthropic", state.next_id("msgbatch_test_"), time.time(), [])
        state.batches[batch.id] = batch
        state.created += 1
        batch.results = _answer_all(server, state, "/v1/messages", requests)
        return json_response(200, _anthropic_batch(server, state, batch))


def anthropic_batches_retrieve(server: LLMServer, request: RecordedRequest) -> Response:
    state = book(server)
    batch_id = request.path.split("?")[0].rsplit("/", 1)[1]
    with state.lock:
        batch = state.batches.get(batch_id)
        if batch is None or batch.api != "anthropic":
            return anthropic_error(404, f"no message batch {batch_id!r}")
        _poll(state, batch)
        return json_response(200, _anthropic_batch(server, state, batch))


def anthropic_batches_results(server: LLMServer, request: RecordedRequest) -> Response:
    state = book(server)
    batch_id = request.path.split("?")[0].split("/")[4]
    batch = state.batches.get(batch_id)
    if batch is None or not batch.ended:
        return anthropic_error(404, f"message batch {batch_id!r} has no results yet")
    lines = []
    for custom_id, response in batch.results:
        if response is None:
            result: dict[str, Any] = {"type": "expired" if state.end == "expired" else "canceled"}
        elif response.status == 200:
            result = {"type": "succeeded", "message": json.loads(response.body)}
        else:
            result = {"type": "errored", "error": json.loads(response.body)}
        lines.append(json.dumps({"custom_id": custom_id, "result": result}) + "\n")
    return Response(200, "".join(lines).encode(), content_type="application/binary")


def _anthropic_batch(server: LLMServer, state: BatchBook, batch: _Batch) -> dict[str, Any]:
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    if not batch.ended:
        counts["processing"] = len(batch.results)
    for _, response in batch.results if batch.ended else ():
        if response is None:
            counts["expired" if state.end == "expired" else "canceled"] += 1
        else:
            counts["succeeded" if response.status == 200 else "errored"] += 1
    created = datetime.fromtimestamp(batch.created_at, timezone.utc).isoformat()
    return {
        "id": batch.id, "type": "message_batch", "processing_status": "ended" if batch.ended else "in_progress",
        "request_counts": counts, "created_at": created, "expires_at": created, "archived_at": None,
        "cancel_initiated_at": None, "ended_at": created if batch.ended else None,
        "results_url": f"{server.url}/v1/messages/batches/{batch.id}/results" if batch.ended else None,
    }  # fmt: skip


# Registered through ``llm_server.pattern_routes()``: (method, path regex, route, error format).
ROUTES = (
    ("POST", re.compile(r"/v1/files"), openai_files_create, llm_server.openai_error),
    ("GET", re.compile(r"/v1/files/[^/]+/content"), openai_files_content, llm_server.openai_error),
    ("POST", re.compile(r"/v1/batches"), openai_batches_create, llm_server.openai_error),
    ("GET", re.compile(r"/v1/batches/[^/]+"), openai_batches_retrieve, llm_server.openai_error),
    ("POST", re.compile(r"/v1/messages/batches"), anthropic_batches_create, llm_server.anthropic_error),
    ("GET", re.compile(r"/v1/messages/batches/[^/]+"), anthropic_batches_retrieve, llm_server.anthropic_error),
    ("GET", re.compile(r"/v1/messages/batches/[^/]+/results"), anthropic_batches_results, llm_server.anthropic_error),
)
