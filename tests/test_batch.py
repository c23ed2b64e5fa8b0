"""Batch mode (``--pc-batch``): OpenAI's Batch API and Anthropic's Message Batches, end to end.

Each test writes a pytester project whose model points at the ``llm_server`` fixture, which speaks
the Files + Batches and Message Batches protocols (tests/llm_server_batches.py) and counts the
batches it was asked to create; the real SDK clients make every request. Nothing is patched.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from llm_server import LLMServer
from llm_server_batches import book
from provider_project import TWO_CASES
from pytest_promptcheck.runs.record import read_records

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytestmark = pytest.mark.usefixtures("openai_warm", "anthropic_warm")

THREE_CASES = (
    TWO_CASES
    + """
      - id: c3
        vars: { who: three }
        assert: [ { contains: hello } ]
"""
)


def write_project(
    pytester: pytest.Pytester, server: LLMServer, *, provider: str = "openai", suite: str = THREE_CASES,
    model_lines: str = "", top_lines: str = "",
) -> None:  # fmt: skip
    """One model ``m`` of ``provider`` on the test server, polled every 10 ms, and one suite."""
    base_url = server.base_url if provider == "openai" else server.anthropic_base_url
    pytester.makepyprojecttoml(
        textwrap.dedent(
            f"""
            [tool.promptcheck]
            models = ["m"]
            retries = 0
            batch_poll_s = 0.01
            {top_lines}

            [tool.promptcheck.model.m]
            provider = "{provider}"
            model = "m-test"
            base_url = "{base_url}"
            {model_lines}
            """
        )
    )
    pytester.makefile(".prompts.yaml", test_suite=textwrap.dedent(suite))


def direct_calls(server: LLMServer) -> int:
    return sum(r.path in ("/v1/chat/completions", "/v1/messages") for r in server.requests)


def costs(pytester: pytest.Pytester) -> dict[str, float | None]:
    """Each case's call cost in the newest run record."""
    run = max((pytester.path / ".promptcheck" / "runs").iterdir())
    return {r.case: r.calls[0].cost for r in read_records(run / "results.jsonl")}


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_batch_submits_polls_and_judges(pytester: pytest.Pytester, llm_server: LLMServer, provider: str) -> None:
    """--pc-batch: one batch for the suite, polled with a progress line, verdicts as for direct calls."""
    write_project(pytester, llm_server, provider=provider)
    book(llm_server).hold_polls = 2
    result = pytester.runpytest("--pc-batch", "-p", "no:xdist")
    result.assert_outcomes(passed=3)
    assert book(llm_server).created == 1
    assert direct_calls(llm_server) == 0
    assert len(book(llm_server).inner) == 3
    result.stdout.fnmatch_lines([
        "promptcheck: batch *_test_* (m): submitted 3 requests",
        "promptcheck: batch *_test_* (m) in_progress: 0 done, 0 failed, 3 left, * elapsed",
        "promptcheck: batch *_test_* (m) *: 3 done, 0 failed, 0 left, * elapsed",
    ])  # fmt: skip
    assert not list((pytester.path / ".promptcheck" / "batches").glob("*.json"))  # collected: forgotten


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_submit_only_then_rerun_resumes_without_a_second_batch(
    pytester: pytest.Pytester, llm_server: LLMServer, provider: str
) -> None:
    """--pc-batch-submit-only skips the items naming the batch (exit 0); reruns resume it, never resubmit."""
    write_project(pytester, llm_server, provider=provider)
    book(llm_server).hold_polls = 3
    first = pytester.runpytest("--pc-batch-submit-only", "-p", "no:xdist", "-rs")
    first.assert_outcomes(skipped=3)
    assert first.ret == 0
    first.stdout.fnmatch_lines(["*batch *_test_* (m) submitted (--pc-batch-submit-only); rerun the same command "
                                "without --pc-batch-submit-only to collect its results*"])  # fmt: skip
    [state] = (pytester.path / ".promptcheck" / "batches").glob("*.json")
    assert len(json.loads(state.read_text())["requests"]) == 3
    second = pytester.runpytest("--pc-batch-submit-only", "-p", "no:xdist", "-rs")  # still processing: held again
    second.assert_outcomes(skipped=3)
    second.stdout.fnmatch_lines(["*resuming the batch submitted * ago (3 requests)", "*(m) still processing*"])
    third = pytester.runpytest("--pc-batch", "-p", "no:xdist")  # "killed while polling", rerun: collected
    third.assert_outcomes(passed=3)
    assert book(llm_server).created == 1
    assert direct_calls(llm_server) == 0
    assert not state.exists()


@pytest.mark.parametrize(
    ("provider", "said"),
    [
        ("openai", "openai model 'm' (HTTP 400): batch batch_test_*, request pc-*: context too long"),
        (
            "anthropic",
            "anthropic model 'm': batch msgbatch_test_*, request pc-*: invalid_request_error: context too long",
        ),
    ],
)
def test_per_request_errors_name_the_batch_and_the_request(
    pytester: pytest.Pytester, llm_server: LLMServer, provider: str, said: str
) -> None:
    """A request the batch answered with an error is its item's error, naming batch and custom id."""
    write_project(pytester, llm_server, provider=provider)
    llm_server.add_fault("status", status=400, match="hello two", message="context too long")
    result = pytester.runpytest("--pc-batch", "-p", "no:xdist")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([f"*model call failed: {said}*"])
    assert direct_calls(llm_server) == 0  # not retried directly: each call is made once


@pytest.mark.parametrize(
    ("provider", "end", "said"),
    [
        ("openai", "expired", "batch_expired: This request could not be executed before the completion window expired"),
        ("openai", "cancelled", "batch_cancelled: This request was not executed because the batch was cancelled"),
        ("anthropic", "expired", "the request's result is 'expired'"),
    ],
)
def test_expired_batch_errors_its_unanswered_requests(
    pytester: pytest.Pytester, llm_server: LLMServer, provider: str, end: str, said: str
) -> None:
    """An expired or cancelled batch: answered requests are judged, the others are errors saying why."""
    write_project(pytester, llm_server, provider=provider)
    book(llm_server).end, book(llm_server).answered_before_end = end, 1
    result = pytester.runpytest("--pc-batch", "-p", "no:xdist")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines([f"*batch *_test_*, request pc-*: {said}*"])
    assert direct_calls(llm_server) == 0


def test_cached_calls_are_not_batched(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """A call the response cache answers stays out of the batch; a rerun after collection batches nothing."""
    write_project(pytester, llm_server)
    pytester.runpytest("-p", "no:xdist", "-k", "c1").assert_outcomes(passed=1)  # direct, cached
    assert direct_calls(llm_server) == 1
    pytester.runpytest("--pc-batch", "-p", "no:xdist").assert_outcomes(passed=3)
    assert [r.last_user for r in book(llm_server).inner] == ["hello two", "hello three"]
    again = pytester.runpytest("--pc-batch", "-p", "no:xdist")
    again.assert_outcomes(passed=3)
    assert book(llm_server).created == 1 and direct_calls(llm_server) == 1
    again.stdout.fnmatch_lines(["promptcheck cache: 3/3 calls from cache*"])


def test_batched_calls_are_priced_with_the_discount(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """price.batch_discount prices batched calls (0.25 off here); direct calls pay the full price."""
    price = "price = { input_per_mtok = 1000.0, output_per_mtok = 2000.0, batch_discount = 0.25 }"
    write_project(pytester, llm_server, model_lines=price, top_lines='cache = "off"')
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=3)
    direct = costs(pytester)
    pytester.runpytest("--pc-batch", "-p", "no:xdist").assert_outcomes(passed=3)
    batched = costs(pytester)
    run = max((pytester.path / ".promptcheck" / "runs").iterdir())
    [batch_id] = {r.calls[0].batch_id for r in read_records(run / "results.jsonl")}  # the record names the batch
    assert batch_id is not None and batch_id.startswith("batch_test_")
    assert direct["c1"]
    assert batched == {case: pytest.approx(cost * 0.75) for case, cost in direct.items()}


def test_dry_run_shows_the_batch_price_next_to_the_direct_one(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """--pc-dry-run: an openai model's line adds its batch price (default discount: half)."""
    write_project(pytester, llm_server, model_lines="price = { input_per_mtok = 1000.0, output_per_mtok = 0.0 }")
    result = pytester.runpytest("--pc-dry-run", "-p", "no:xdist")
    result.stdout.fnmatch_lines([
        "  m: 3 calls, ~9 input + <=768 output tokens, est. $0.0090 (batch API: $0.0045)",
        "dry run: 3 calls would be made, est. $0.0090 in all (with the batch APIs: $0.0045); nothing was called",
    ])  # fmt: skip
    assert llm_server.request_count == 0


@pytest.mark.parametrize("how", ["--pc-batch", "batch = true"])
def test_batch_with_xdist_is_a_usage_error(pytester: pytest.Pytester, llm_server: LLMServer, how: str) -> None:
    """Batch mode under -n is refused, saying why and what to drop; nothing is submitted."""
    write_project(pytester, llm_server, model_lines=how if how.startswith("batch") else "")
    result = pytester.runpytest(*([how] if how.startswith("--") else []), "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    fix = "drop --pc-batch" if how.startswith("--") else "set `batch = false`"
    result.stderr.fnmatch_lines([f"*with -n: batch mode submits one batch per model from one process*{fix}"])
    assert llm_server.request_count == 0


def test_a_failed_submission_errors_every_item_of_the_batch(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """The batch cannot be created: each of its items is an error saying so, and nothing is called directly."""
    write_project(pytester, llm_server)
    llm_server.add_fault("status", status=503, path="/v1/batches", message="batches are down")
    result = pytester.runpytest("--pc-batch", "-p", "no:xdist")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*(HTTP 503): submitting the batch of 3 requests failed: batches are down; rerun*"])
    assert direct_calls(llm_server) == 0
    assert not (pytester.path / ".promptcheck" / "batches").exists()


def test_batched_answers_are_recorded_to_cassettes(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """--pc-batch --pc-record writes the cassette as direct calls do; --pc-replay then needs no server."""
    write_project(pytester, llm_server, top_lines='cache = "off"')
    pytester.runpytest("--pc-batch", "--pc-record", "-p", "no:xdist").assert_outcomes(passed=3)
    served = llm_server.request_count
    pytester.runpytest("--pc-replay", "-p", "no:xdist").assert_outcomes(passed=3)
    assert llm_server.request_count == served and book(llm_server).created == 1


def test_batch_false_keeps_a_model_direct(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """A model's `batch = false` beats --pc-batch (an OpenAI-compatible server without the Batch API)."""
    write_project(pytester, llm_server, model_lines="batch = false")
    pytester.runpytest("--pc-batch", "-p", "no:xdist").assert_outcomes(passed=3)
    assert book(llm_server).created == 0 and direct_calls(llm_server) == 3


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_batched_body_equals_the_direct_one(pytester: pytest.Pytester, llm_server: LLMServer, provider: str) -> None:
    """The batch carries the very bodies direct calls send (params, seed, system prompt), under short custom ids."""
    params = "params = { temperature = 0.3, max_tokens = 40, top_p = 0.9 }"
    suite = THREE_CASES.replace('p: "hello {{ who }}"', 'p: [ { system: "be brief" }, { user: "hello {{ who }}" } ]')
    write_project(pytester, llm_server, provider=provider, suite=suite, model_lines=params, top_lines='cache = "off"')
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=3)
    direct = sorted((r.body for r in llm_server.requests), key=json.dumps)
    pytester.runpytest("--pc-batch", "-p", "no:xdist").assert_outcomes(passed=3)
    assert sorted((r.body for r in book(llm_server).inner), key=json.dumps) == direct
    [state] = [r for r in llm_server.requests if r.path.endswith("batches")]
    ids = [line["custom_id"] for line in state.body["requests"]] if provider == "anthropic" else []
    assert all(len(i) <= 64 for i in ids)


def test_a_batch_that_cannot_be_polled_is_kept_for_the_next_run(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    """Polling that keeps failing errors the items and keeps the batch; the next run resumes it."""
    write_project(pytester, llm_server)
    llm_server.add_fault("status", status=502, when=lambda r: r.method == "GET" and r.path.startswith("/v1/batches/"))
    first = pytester.runpytest("--pc-batch", "-p", "no:xdist")
    first.assert_outcomes(errors=3)
    first.stdout.fnmatch_lines(
        ["*polling failed*HTTP 502*", "*batch batch_test_* could not be polled; rerun the same command to resume it*"]
    )
    llm_server.clear_faults()
    pytester.runpytest("--pc-batch", "-p", "no:xdist").assert_outcomes(passed=3)
    assert book(llm_server).created == 1 and direct_calls(llm_server) == 0


def test_a_wider_rerun_resumes_the_pending_batch_and_submits_only_the_rest(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    """A rerun selecting more items polls the pending batch for its calls and batches only the others."""
    write_project(pytester, llm_server)
    book(llm_server).hold_polls = 1
    pytester.runpytest("--pc-batch-submit-only", "-p", "no:xdist", "-k", "c1").assert_outcomes(skipped=1)
    result = pytester.runpytest("--pc-batch", "-p", "no:xdist")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*resuming the batch submitted * ago (1 request)", "*submitted 2 requests"])
    assert book(llm_server).created == 2
    assert sorted(r.last_user for r in book(llm_server).inner) == ["hello one", "hello three", "hello two"]
