"""Calls/s, CPU per call and server span of pytest-promptcheck beside the bare AsyncOpenAI client.

    python benchmarks/bench_engine.py --cases 1000 --rounds 3

One run, against one local OpenAI-compatible server that runs in ITS OWN process (so it shares
the interpreter lock with neither client):

- at 0 ms latency, concurrency 32 (``--fast-concurrency``): calls/s = N / server span and CPU
  seconds per call of the client process;
- at 200 ms latency, concurrency 64 (``--latency``, ``--concurrency``): the server span,
  efficiency = bare span / plugin span.

"plugin" is ``python -m pytest -q --pc-no-cache`` on a generated N-case suite (one openai model,
the parse cache warm, as in a developer's second run; ``--sdk-row`` adds the same with
``options = { http = "sdk" }``, the SDK path that https and the official API take); "bare" is ``openai.AsyncOpenAI`` making the
same N calls through ``chat.completions.create`` behind an ``asyncio.Semaphore(C)``. Each round
runs plugin and bare alternately (the order flips every round); medians over the rounds, and the
ratios plugin/bare. Span = first request's arrival to the last response, from the server's own
records. CPU per call = (CPU of the N-call child − CPU of a 1-call child) / (N − 1), each child's
CPU from ``getrusage(RUSAGE_CHILDREN)`` around it, so imports and startup do not count. The
server's CPU per call is printed too: on a small machine it tells whether the server, not the
client, was the bottleneck.

``--server llm`` serves with tests/llm_server.py (a thread per connection); the default ``lean``
is an asyncio server in this file that answers the same echo Chat Completions body with far less
CPU per request, so the clients' own cost decides the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
from gen_suite import child_env

# -- the server process ------------------------------------------------------------------------------


class _Lean(asyncio.Protocol):
    """HTTP/1.1 keep-alive, POST /v1/chat/completions only: the echo body of tests/llm_server.py."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.buffer = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body, self.buffer = self.buffer[end + 4 : end + 4 + length], self.buffer[end + 4 + length :]
            self._arrive(json.loads(body))

    def _arrive(self, body: dict[str, Any]) -> None:
        state = self.state
        state["arrivals"].append(time.monotonic())
        state["in_flight"] += 1
        state["peak"] = max(state["peak"], state["in_flight"])
        text = body["messages"][-1]["content"]
        words = len(text.split())
        payload = json.dumps({
            "id": f"chatcmpl-{len(state['arrivals'])}", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": words, "completion_tokens": words, "total_tokens": 2 * words},
        }).encode()  # fmt: skip
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        response = head.encode() + payload
        if state["latency"] > 0:
            asyncio.get_running_loop().call_later(state["latency"], self._send, response)
        else:
            self._send(response)

    def _send(self, response: bytes) -> None:
        self.state["in_flight"] -= 1
        self.state["last"] = time.monotonic()
        if not self.transport.is_closing():
            self.transport.write(response)


async def _serve_lean() -> None:
    state: dict[str, Any] = {"arrivals": [], "in_flight": 0, "peak": 0, "latency": 0.0, "last": 0.0}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Lean(state), "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().split():
        if line[0] == "reset":
            state.update(arrivals=[], peak=state["in_flight"], latency=float(line[1]), last=0.0)
            print("ok", flush=True)
        elif line[0] == "stats":
            arrivals = state["arrivals"]
            print(json.dumps({"count": len(arrivals), "span": state["last"] - min(arrivals) if arrivals else 0.0,
                              "peak": state["peak"], "cpu": _cpu(resource.RUSAGE_SELF)}), flush=True)  # fmt: skip


def _serve_llm() -> None:
    from llm_server import LLMServer

    with LLMServer() as server:
        print(server.port, flush=True)
        for text in sys.stdin:
            line = text.split()
            if line[0] == "reset":
                server.reset()
                server.set_latency(float(line[1]))
                print("ok", flush=True)
            elif line[0] == "stats":
                times = [r.received_at for r in server.requests]
                # the handler sends right after its latency wait: last arrival + latency is the last response
                span = max(times) + server.latency - min(times) if times else 0.0
                print(json.dumps({"count": len(times), "span": span, "peak": server.peak_in_flight,
                                  "cpu": _cpu(resource.RUSAGE_SELF)}), flush=True)  # fmt: skip


class Server:
    """The server child process and its line protocol on stdin/stdout."""

    def __init__(self, kind: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=child_env(),
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.base_url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}/v1"

    def _ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline()

    def reset(self, latency: float) -> None:
        self._ask(f"reset {latency}")

    def stats(self) -> dict[str, Any]:
        return dict(json.loads(self._ask("stats")))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


# -- the clients --------------------------------------------------------------------------------------

_BARE = """
import asyncio, sys
import openai

async def main(base_url, cases, concurrency):
    client = openai.AsyncOpenAI(api_key="x", base_url=base_url, max_retries=0, timeout=60)
    limit = asyncio.Semaphore(concurrency)

    async def one(i):
        async with limit:
            await client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": f"reply {i}"}], seed=i
            )

    await asyncio.gather(*(one(i) for i in range(cases)))
    await client.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _child(args: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one child process; exits loudly when it fails."""
    before, start = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=child_env())
    wall, cpu = time.perf_counter() - start, _cpu(resource.RUSAGE_CHILDREN) - before
    if proc.returncode != 0:
        raise SystemExit(f"{args[:2]} failed in {cwd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, cpu


def _write_project(root: Path, base_url: str, cases: int, concurrency: int, http: str = "auto") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\n\n[tool.promptcheck]\nmodels = ["gpt"]\n\n'
        f'[tool.promptcheck.model.gpt]\nprovider = "openai"\nmodel = "gpt-test"\nbase_url = "{base_url}"\n'
        f'concurrency = {concurrency}\noptions = {{ http = "{http}" }}\n'
    )
    lines = ['prompts: {p: "{{ x }}"}', "cases:"]
    lines += [f"  - {{id: c{i}, vars: {{x: 'reply {i}'}}, assert: [{{equals: 'reply {i}'}}]}}" for i in range(cases)]
    (root / "test_bench.prompts.yaml").write_text("\n".join(lines) + "\n")
    return root


@dataclass
class Client:
    name: str
    server: Server
    tmp: Path

    def run(self, cases: int, concurrency: int, latency: float) -> dict[str, float]:
        """One measured child: its wall and CPU, the server's span, peak and CPU for it."""
        self.server.reset(latency)
        before = self.server.stats()["cpu"]
        if self.name == "bare":
            wall, cpu = _child(["-c", _BARE, self.server.base_url, str(cases), str(concurrency)])
        else:
            root = self.tmp / f"{self.name}-{cases}-{concurrency}"
            if not root.exists():
                http = "sdk" if self.name == "plugin-sdk" else "auto"
                _write_project(root, self.server.base_url, cases, concurrency, http)
                _child(["-m", "pytest", "-q", "--pc-no-cache"], cwd=root)  # fill the parse cache
                self.server.reset(latency)
                before = self.server.stats()["cpu"]
            wall, cpu = _child(["-m", "pytest", "-q", "--pc-no-cache"], cwd=root)
        stats = self.server.stats()
        if stats["count"] != cases:
            raise SystemExit(f"{self.name}: the server saw {stats['count']} requests, expected {cases}")
        return {
            "wall": wall,
            "cpu": cpu,
            "span": stats["span"],
            "peak": stats["peak"],
            "server_cpu": stats["cpu"] - before,
        }


def _round(clients: list[Client], n: int, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for client in clients:
        fast = client.run(n, args.fast_concurrency, 0.0)
        one = client.run(1, args.fast_concurrency, 0.0)
        slow = client.run(n, args.concurrency, args.latency)
        out[client.name] = {
            "calls_s": n / fast["span"],
            "cpu_ms": (fast["cpu"] - one["cpu"]) / (n - 1) * 1000,
            "server_cpu_ms": fast["server_cpu"] / n * 1000,
            "span": slow["span"],
            "peak": slow["peak"],
            "startup": one["wall"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fast-concurrency", type=int, default=32, help="concurrency at 0 ms latency")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=64, help="concurrency at --latency")
    parser.add_argument("--server", choices=("lean", "llm"), default="lean")
    parser.add_argument("--sdk-row", action="store_true", help='also the plugin with options.http = "sdk"')
    parser.add_argument("--serve", choices=("lean", "llm"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve_lean()) if args.serve == "lean" else _serve_llm()
        return
    n = args.cases
    server = Server(args.server)
    rounds = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            names = ["plugin", "bare"] + (["plugin-sdk"] if args.sdk_row else [])
            clients = [Client(name, server, Path(tmp)) for name in names]
            for index in range(args.rounds):
                rounds.append(_round(clients if index % 2 == 0 else clients[::-1], n, args))
                print(f"round {index + 1}: {json.dumps(rounds[-1])}", file=sys.stderr, flush=True)
    finally:
        server.close()
    _table(rounds, n, args)


def _table(rounds: list[dict[str, dict[str, float]]], n: int, args: argparse.Namespace) -> None:
    def med(who: str, key: str) -> float:
        return statistics.median(r[who][key] for r in rounds)

    def each(who: str, key: str, form: str) -> str:
        return " / ".join(form.format(r[who][key]) for r in rounds)

    ideal = n * args.latency / args.concurrency
    print(f"server: {args.server}, N = {n}, {args.rounds} rounds (each value: round 1 / 2 / ...; median)\n")
    print(f"| | calls/s at 0 ms, C={args.fast_concurrency} | client CPU per call | server CPU per call "
          f"| span at {args.latency * 1000:.0f} ms, C={args.concurrency} (ideal {ideal:.2f} s) |")  # fmt: skip
    print("|---|---|---|---|---|")
    rows = [("bare", "bare AsyncOpenAI + semaphore"), ("plugin", "pytest-promptcheck (lean path, aiohttp)")]
    rows += [("plugin-sdk", 'pytest-promptcheck, options.http = "sdk"')] if args.sdk_row else []
    for who, label in rows:
        print(f"| {label} | {each(who, 'calls_s', '{:.0f}')} ({med(who, 'calls_s'):.0f}) "
              f"| {each(who, 'cpu_ms', '{:.2f}')} ({med(who, 'cpu_ms'):.2f} ms) "
              f"| {med(who, 'server_cpu_ms'):.2f} ms "
              f"| {each(who, 'span', '{:.2f}')} ({med(who, 'span'):.2f} s, peak {med(who, 'peak'):.0f}) |")  # fmt: skip
    rate = [r["plugin"]["calls_s"] / r["bare"]["calls_s"] for r in rounds]
    cpu = [r["plugin"]["cpu_ms"] / r["bare"]["cpu_ms"] for r in rounds]
    span = [r["bare"]["span"] / r["plugin"]["span"] for r in rounds]
    print(f"\nplugin calls/s vs bare: {' / '.join(f'{x:.0%}' for x in rate)} (median {statistics.median(rate):.0%}; "
          "target >= 80%)")  # fmt: skip
    print(
        f"span efficiency (bare span / plugin span): {' / '.join(f'{x:.0%}' for x in span)} "
        f"(median {statistics.median(span):.0%}; target >= 80%)"
    )
    print(f"CPU per call, plugin / bare: {' / '.join(f'{x:.2f}x' for x in cpu)} (median {statistics.median(cpu):.2f}x; "
          "target <= 1.25x)")  # fmt: skip
    print(f"startup, 1-case plugin run (wall, median): {med('plugin', 'startup'):.2f} s")


if __name__ == "__main__":
    main()
