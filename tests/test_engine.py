"""The engine: retries with Retry-After, errors after retries, concurrency, each call made once."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict

import pytest

from llm_server import LLMServer
from pytest_promptcheck.calls.retry import AdaptiveLimiter, RetryPolicy
from pytest_promptcheck.calls.schedule import AHEAD_FACTOR
from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.providers.base import parse_retry_after

pytestmark = pytest.mark.usefixtures("openai_warm")


def write_project(pytester: pytest.Pytester, base_url: str, cases: int, *, top: str = "", model: str = "") -> None:
    """One openai model `gpt` on the test server and `cases` echo cases that pass when the reply comes back."""
    pytester.makepyprojecttoml(
        f"""
        [tool.promptcheck]
        models = ["gpt"]
        {top}
        [tool.promptcheck.model.gpt]
        provider = "openai"
        model = "gpt-test"
        base_url = "{base_url}"
        {model}
        """
    )
    lines = ['prompts: {p: "{{ x }}"}', "cases:"]
    lines += [f"  - {{id: c{i}, vars: {{x: 'reply {i}'}}, assert: [{{equals: 'reply {i}'}}]}}" for i in range(cases)]
    pytester.makefile(".prompts.yaml", test_many="\n".join(lines) + "\n")


def test_429_storm_completes_with_correct_verdicts_and_respects_retry_after(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    """30% of requests get 429 + retry-after-ms: every case still passes, never retried sooner than asked."""
    llm_server.add_fault("status", status=429, retry_after_ms=120, probability=0.3, seed=7)
    write_project(pytester, llm_server.base_url, 40, top="retries = 8", model="concurrency = 8")
    result = pytester.runpytest()
    result.assert_outcomes(passed=40)
    by_prompt: dict[str, list] = defaultdict(list)
    for request in llm_server.requests:
        by_prompt[request.last_user].append(request)
    rate_limited = [r for r in llm_server.requests if r.status == 429]
    assert len(rate_limited) >= 6  # the storm happened
    for attempts in by_prompt.values():
        assert attempts[-1].status == 200
        for failed, retry in itertools.pairwise(attempts):
            assert retry.received_at - failed.received_at >= 0.115  # 120 ms asked, minus clock slack


def test_exhausted_retries_are_errors_naming_provider_status_and_message(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    """A call that keeps failing with 503 ends as an *error* after retries, with the server's message."""
    llm_server.add_fault("status", status=503, message="upstream overloaded", retry_after_ms=10)
    write_project(pytester, llm_server.base_url, 2, top="retries = 2")
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["*model call failed: openai model 'gpt' (HTTP 503): upstream overloaded (gave up after 3 attempts in *s)*"]
    )
    assert llm_server.request_count == 6


def test_client_errors_are_not_retried(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """A 400 is the request's fault: one attempt, then an error."""
    llm_server.add_fault("status", status=400, message="bad parameter")
    write_project(pytester, llm_server.base_url, 1)
    pytester.runpytest().assert_outcomes(errors=1)
    assert llm_server.request_count == 1


def test_timeouts_and_dropped_connections_are_retried(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """The first attempt times out, the second is dropped, the third answers: the case passes."""
    llm_server.add_fault("slow", delay=2, first=1)
    llm_server.add_fault("drop", when=lambda request: request.index == 1)
    write_project(pytester, llm_server.base_url, 1, top="retries = 3")
    pytester.runpytest("--pc-timeout", "0.3").assert_outcomes(passed=1)
    assert [r.status for r in llm_server.requests][-1] == 200
    assert llm_server.request_count == 3


def test_concurrency_fills_the_limit(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """200 cases at 100 ms with concurrency 20: the server sees at least 15 requests in flight at once."""
    llm_server.set_latency(0.1)
    write_project(pytester, llm_server.base_url, 200, model="concurrency = 20")
    pytester.runpytest().assert_outcomes(passed=200)
    assert llm_server.request_count == 200
    assert 15 <= llm_server.peak_in_flight <= 20


def test_pc_concurrency_overrides_the_model(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """--pc-concurrency beats the model's own setting."""
    llm_server.set_latency(0.05)
    write_project(pytester, llm_server.base_url, 30, model="concurrency = 20")
    pytester.runpytest("--pc-concurrency", "3").assert_outcomes(passed=30)
    assert llm_server.peak_in_flight <= 3


def test_exitfirst_wastes_little(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """With -x, calls are started only a bounded window ahead of the failing item (answered ones capped at 16x)."""
    llm_server.responder = lambda request: "wrong"
    llm_server.set_latency(0.02)
    write_project(pytester, llm_server.base_url, 300)  # local server: concurrency 4, window 16
    pytester.runpytest("-x").assert_outcomes(failed=1)
    assert llm_server.request_count <= AHEAD_FACTOR * 4 + 4


def test_identical_calls_are_made_once(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """Two suites with the same cases and prompts: each distinct call reaches the server once."""
    write_project(pytester, llm_server.base_url, 5)
    (pytester.path / "test_copy.prompts.yaml").write_text((pytester.path / "test_many.prompts.yaml").read_text())
    pytester.runpytest().assert_outcomes(passed=10)
    assert llm_server.request_count == 5


@pytest.mark.parametrize("args", [[], ["-n", "2"]])
def test_each_items_calls_made_once_with_and_without_xdist(
    pytester: pytest.Pytester, llm_server: LLMServer, args: list[str]
) -> None:
    """Every item's call reaches the server exactly once, also when two xdist workers share the run."""
    write_project(pytester, llm_server.base_url, 30)
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=30)
    prompts = [r.last_user for r in llm_server.requests]
    assert sorted(prompts) == sorted(f"reply {i}" for i in range(30))


def test_xdist_worker_calls_only_its_own_items(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """With -x under xdist, the calls made stay close to the items that ran (no worker prefetches all)."""
    llm_server.responder = lambda request: "wrong"
    write_project(pytester, llm_server.base_url, 200)
    result = pytester.runpytest_subprocess("-n", "2", "-x")
    assert result.ret in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED)  # xdist stops with 2
    assert llm_server.request_count < 100


def test_ctrl_c_stops_a_run_promptly(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """SIGINT during slow calls ends the session within seconds, reporting the interruption."""
    llm_server.set_latency(30)
    write_project(pytester, llm_server.base_url, 20)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # A shell starts background jobs with SIGINT ignored, and children inherit that (Python then installs
    # no KeyboardInterrupt handler): restore the default so the test does not depend on how it was started.
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=pytester.path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while llm_server.request_count == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert time.monotonic() - start < 10
    assert proc.returncode == pytest.ExitCode.INTERRUPTED
    assert "KeyboardInterrupt" in out


def test_retry_after_forms_are_parsed() -> None:
    """Retry-After as seconds (also fractional and zero), as an HTTP date, and retry-after-ms."""
    now = time.time()
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.0"}) == 0.0  # "now", not "a minute"
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    date = email.utils.formatdate(now + 5, usegmt=True)
    assert 3.5 <= (parse_retry_after({"Retry-After": date}, now=now) or 0) <= 5.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "-2"}) is None


def test_backoff_grows_and_honours_the_server() -> None:
    """Without Retry-After the wait grows with attempts (jittered); with it, never less than asked."""
    import random

    policy = RetryPolicy(base_s=0.5, cap_s=8)
    rng = random.Random(0)
    plain = ProviderError("openai", "m", "boom", status=500, retryable=True)
    waits = [max(policy.delay(n, plain, rng) for _ in range(200)) for n in (1, 3, 5)]
    assert waits[0] <= 0.5 < waits[1] <= 2.0 < waits[2] <= 8.0
    asked = ProviderError("openai", "m", "slow down", status=429, retryable=True, retry_after=1.5)
    assert all(policy.delay(1, asked, rng) >= 1.5 for _ in range(50))


def test_repeated_429s_lower_concurrency_and_successes_restore_it() -> None:
    """The limiter halves on rate limiting and climbs back one slot at a time."""

    async def scenario() -> list[int]:
        limiter = AdaptiveLimiter(16)
        seen = []
        for rate_limited in (True, True, True):
            await limiter.acquire()
            limiter.release(rate_limited=rate_limited)
            seen.append(limiter.limit)
        for _ in range(20):
            await limiter.acquire()
            limiter.release()
        seen.append(limiter.limit)
        return seen

    limits = asyncio.run(scenario())
    assert limits[:3] == [8, 4, 2]
    assert 2 < limits[3] <= 16


def test_a_burst_of_429s_halves_once() -> None:
    """16 calls in flight all answered 429: one cut (16 -> 8), as TCP halves once per round trip; a 429
    on a call sent after the cut cuts again; other outcomes (a 500, a timeout, a success) never cut
    and each gives a slot back."""

    async def scenario() -> list[int]:
        limiter = AdaptiveLimiter(16)
        tickets = [await limiter.acquire() for _ in range(16)]
        for ticket in tickets:
            limiter.release(ticket, rate_limited=True)
        seen = [limiter.limit]
        limiter.release(await limiter.acquire(), rate_limited=True)  # sent after the cut: a new signal
        seen.append(limiter.limit)
        for _ in range(3):
            limiter.release(await limiter.acquire(), rate_limited=False)  # a 500 or a timeout: no cut
        seen.append(limiter.limit)
        return seen

    assert asyncio.run(scenario()) == [8, 4, 7]


def test_env_base_url_on_loopback_keeps_the_local_default(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """base_url = "${PC_TEST_URL}" resolving to 127.0.0.1: at most 4 calls in flight (SPEC §3), as when written out."""
    monkeypatch.setenv("PC_TEST_URL", llm_server.base_url)
    llm_server.set_latency(0.1)
    write_project(pytester, "${PC_TEST_URL}", 40)
    pytester.runpytest().assert_outcomes(passed=40)
    assert llm_server.request_count == 40
    assert llm_server.peak_in_flight <= 4


def test_a_collection_error_makes_no_call(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """One good suite and one broken: pytest stops after collection, and the server sees no request."""
    write_project(pytester, llm_server.base_url, 10)
    pytester.makefile(".prompts.yaml", test_broken="cases: [{id: x, nope: 1}]\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*Interrupted: 1 error during collection*"])
    assert llm_server.request_count == 0
    assert pytester.runpytest("--continue-on-collection-errors").ret == 1  # then the good suite runs
    assert llm_server.request_count == 10


TIMED_APP = """
import json, time
from pathlib import Path


def timed(messages, params):
    start = time.perf_counter()
    time.sleep(0.05)
    took = (time.perf_counter() - start) * 1000
    with Path("own.jsonl").open("a") as log:
        log.write(json.dumps({"prompt": messages[-1]["content"], "ms": took}) + "\\n")
    return messages[-1]["content"]
"""

SLOW_PROVIDER = """
import time
from pytest_promptcheck import Completion


class Slow:
    async def complete(self, request):
        return Completion(output=request.messages[-1]["content"])

    async def aclose(self):
        pass


def create(model, context):
    time.sleep(2)  # e.g. loading a large checkpoint
    return Slow()


def pytest_promptcheck_register_providers(registry):
    registry.register("slow", create)
"""


def _latencies(pytester: pytest.Pytester, model: str) -> list[tuple[str, float]]:
    (results,) = (pytester.path / ".promptcheck" / "runs").glob("*/results.jsonl")
    lines = [json.loads(text) for text in results.read_text().splitlines()]
    return [(line["messages"][-1]["content"], line["latency_ms"]) for line in lines if line["model"] == model]


def _two_models(pytester: pytest.Pytester, base_url: str, other: str, cases: int = 12) -> None:
    pytester.makepyprojecttoml(
        f"""
        [tool.promptcheck]
        models = ["gpt", "other"]
        cache = "off"
        [tool.promptcheck.model.gpt]
        provider = "openai"
        model = "gpt-test"
        base_url = "{base_url}"
        [tool.promptcheck.model.other]
        {other}
        """
    )
    lines = ['prompts: {p: "{{ x }}"}', "cases:"]
    lines += [f"  - {{id: c{i}, vars: {{x: 'reply {i}'}}, assert: [{{equals: 'reply {i}'}}]}}" for i in range(cases)]
    pytester.makefile(".prompts.yaml", test_two="\n".join(lines) + "\n")


def test_a_python_model_beside_an_sdk_model_records_its_own_time(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    """Latency is the call's own time: a python model's recorded latency stays within 2x its own
    measurement + 50 ms while an openai model shares the run, also when its 32 calls in flight wait
    for the engine's worker threads (that wait was recorded as the model's latency)."""
    pytester.makepyfile(timedapp=TIMED_APP)
    model = 'provider = "python"\nfunction = "timedapp:timed"\nconcurrency = 32'
    _two_models(pytester, llm_server.base_url, model, cases=40)
    # a fresh process: the SDK's import is part of creating its provider, as in a user's run
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=80)
    own = {e["prompt"]: e["ms"] for e in map(json.loads, (pytester.path / "own.jsonl").read_text().splitlines())}
    recorded = _latencies(pytester, "other")
    assert len(recorded) == 40
    assert all(ms <= 2 * own[prompt] + 50 for prompt, ms in recorded), (recorded, own)


def test_a_slow_provider_creation_does_not_delay_other_models(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """A provider that takes 2 s to create (a checkpoint loading) does not leak into the openai model's
    recorded latencies: each stays under the server's 100 ms plus half that creation time (a loaded
    machine adds client overhead to every call, but never a second)."""
    llm_server.set_latency(0.1)
    pytester.makeconftest(SLOW_PROVIDER)
    _two_models(pytester, llm_server.base_url, 'provider = "slow"')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=24)
    recorded = _latencies(pytester, "gpt")
    assert len(recorded) == 12
    assert all(ms <= 100 + 1000 for _, ms in recorded), recorded


def test_a_dead_endpoint_costs_one_call_not_every_call(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """Every connection dropped: the model's first call probes the endpoint with its 5 attempts, and the
    other 9 items fail at once naming the endpoint (it was 10 calls x 5 attempts)."""
    llm_server.add_fault("drop")
    write_project(pytester, llm_server.base_url, 10)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=10)
    assert llm_server.request_count == 5  # retries = 4: one call's attempts
    result.stdout.fnmatch_lines(
        [f"*the endpoint did not answer this model's first call: connection to {llm_server.url}*failed*"]
    )


def test_endpoint_cap_limits_all_models_of_one_server_together(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    """[tool.promptcheck.endpoints."URL"] concurrency = 3: two models of 8 each never have more than 3 in flight there."""
    llm_server.set_latency(0.1)
    second = f'[tool.promptcheck.model.gpt2]\nprovider = "openai"\nmodel = "gpt-test"\nbase_url = "{llm_server.base_url}/"\nconcurrency = 8'
    write_project(
        pytester,
        llm_server.base_url,
        12,
        top='models = ["gpt", "gpt2"]\ncache = "off"',
        model=f"concurrency = 8\n{second}",
    )
    text = (pytester.path / "pyproject.toml").read_text().replace('models = ["gpt"]\n', "", 1)
    (pytester.path / "pyproject.toml").write_text(text)
    pytester.runpytest().assert_outcomes(passed=24)
    assert llm_server.peak_in_flight > 3  # without the cap the two models together go past it
    llm_server.reset()
    host = llm_server.base_url.replace("http://", "HTTP://")  # the key matches however the URL is written
    (pytester.path / "pyproject.toml").write_text(text + f'\n[tool.promptcheck.endpoints."{host}/"]\nconcurrency = 3\n')
    pytester.runpytest().assert_outcomes(passed=24)
    assert llm_server.request_count == 24
    assert llm_server.peak_in_flight <= 3
