"""Batch mode (``--pc-batch``, or ``batch = true`` on a model): the calls go through the provider's batch API.

After collection, before any item runs (``plugin.pytest_collection_finish``), the planned calls of
the selected items whose model batches, less those the response cache already answers, are sent
as one batch per model (OpenAI Batch API, Anthropic Message Batches: half price, answered within
24 hours). The batch is remembered (:mod:`.batch_state`) and polled, with a progress line each
time, every ``batch_poll_s`` seconds; its answers, matched back by custom id, are handed to the
engine (``CallStores.batched``), which gives them to the items like direct answers (cassettes
too) while this module stores them in the response cache. Each call is made once: the engine
never calls a model for a call the batch answered or failed.

- A request the batch failed is an error of its item naming the batch and the request; so is one
  an expired or cancelled batch never reached (no direct fallback: a rerun submits those anew).
- A rerun of the same command while a batch is still processing resumes it; a finished one is
  collected, never resubmitted.
- ``--pc-batch-submit-only`` submits and ends: those items are skipped, the reason naming the
  batch, and a later run collects.
- Grader calls of judge/rubric assertions and the gate's re-samples depend on answers: they are
  made directly. Models without a batch API (python, transformers) are called directly.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..config_models import ModelConfig
from ..config_values import BATCH_PROVIDERS
from ..errors import ConfigError, PromptcheckError, ProviderError
from ..providers.identity import provider_identity
from .batch_state import BatchState, BatchStore, where_served
from .keys import cache_key, run_key
from .schedule import PromptItem

if TYPE_CHECKING:
    from ..providers.base import Completion, ModelRequest, Provider, ProviderContext, ProviderFactory
    from ..providers.batches import BatchAnswer, BatchAPI, BatchProgress
    from ..stores.response_cache import ResponseCache

_CUSTOM_ID = re.compile(r"[^A-Za-z0-9_-]")
_POLL_FAILURES = 5  # polls in a row that may fail (a blip in a 24-hour wait) before the run gives up on it


def batches(model: ModelConfig, flag: bool) -> bool:
    """Whether ``model``'s calls are batched: its own ``batch`` wins, else ``--pc-batch`` (its provider allowing)."""
    if model.provider not in BATCH_PROVIDERS:
        return False
    return flag if model.batch is None else model.batch


def custom_id(key: str) -> str:
    """A request's custom id, from its call's run key: ``pc-`` and 40 hex digits (both APIs allow 64)."""
    return "pc-" + _CUSTOM_ID.sub("", key)[:40]


@dataclass
class _Group:
    """One model's calls still to make, by run key, and the items they belong to."""

    model: ModelConfig
    factory: ProviderFactory
    requests: dict[str, ModelRequest] = field(default_factory=dict)
    items: list[PromptItem] = field(default_factory=list)


@dataclass(frozen=True)
class BatchOutcome:
    """What the batch phase leaves: answers (or errors) by run key, and the items held back by node id."""

    answers: dict[str, Completion | Exception]
    held: dict[str, str]  # node id -> skip reason (--pc-batch-submit-only)


class BatchRunner:
    """Plans, submits or resumes, polls and collects the batches of one run (the only process; never under -n)."""

    def __init__(
        self, context: ProviderContext, store: BatchStore, cache: ResponseCache | None, *,
        submit_only: bool, say: Callable[[str], None],
    ) -> None:  # fmt: skip
        self.context = context
        self.store = store
        self.cache = cache
        self.submit_only = submit_only
        self.say = say
        self.poll_s = context.project.batch_poll_s

    def run(self, items: Iterable[PromptItem], factory_for: Callable[[PromptItem], ProviderFactory | None],
            flag: bool) -> BatchOutcome:  # fmt: skip
        groups: dict[str, _Group] = {}
        for item in items:
            factory = factory_for(item) if batches(item.model, flag) else None
            if factory is None:
                continue  # not batched (an unknown provider is the scheduler's error to give)
            group = groups.setdefault(item.model.name, _Group(item.model, factory))
            group.items.append(item)
            for call in item.planned_calls():
                group.requests.setdefault(run_key(item.model, call.request), call.request)
        outcome = BatchOutcome({}, {})
        if groups:
            asyncio.run(self._all(list(groups.values()), outcome))
        return outcome

    async def _all(self, groups: list[_Group], outcome: BatchOutcome) -> None:
        await asyncio.gather(*(self._one(group, outcome) for group in groups))

    async def _one(self, group: _Group, outcome: BatchOutcome) -> None:
        model = group.model
        try:
            provider = group.factory(model, self.context)
        except PromptcheckError:
            return  # e.g. a missing key: the engine reports it on each item, as without batch mode
        try:
            api = batch_api(provider, model)
            identity = provider_identity(provider, model)
            todo = {k: r for k, r in group.requests.items() if not self._cached(model, r, identity)}
            if todo:
                await self._batch(api, group, todo, identity, outcome)
        except PromptcheckError as exc:  # the batch could not be submitted: every call of it has that error
            outcome.answers.update((key, exc) for key in group.requests if key not in outcome.answers)
        finally:
            await provider.aclose()

    def _cached(self, model: ModelConfig, request: ModelRequest, identity: str) -> bool:
        return self.cache is not None and self.cache.get(cache_key(model, request, identity)) is not None

    async def _batch(self, api: BatchAPI, group: _Group, todo: dict[str, ModelRequest], identity: str,
                     outcome: BatchOutcome) -> None:  # fmt: skip
        model = group.model
        for key, request in list(todo.items()):
            try:
                api.body(request)
            except PromptcheckError as exc:  # a prompt the API refuses: that item's error, not the whole batch's
                outcome.answers[key] = exc
                del todo[key]
        if not todo:
            return
        states = self.store.holding(model, set(todo))
        for state in states:
            self.say(f"promptcheck: batch {state.batch_id} ({model.name}): resuming the batch submitted "
                     f"{_ago(state.submitted)} ago ({_requests(len(state.requests))})")  # fmt: skip
        covered = {key for state in states for key in state.requests.values()}
        rest = {k: r for k, r in todo.items() if k not in covered}
        follow = [self._follow(api, group, state, todo, identity, outcome, fresh=False) for state in states]
        if rest:
            try:
                fresh = await self._submit(api, model, rest)
            except ProviderError as exc:  # nothing submitted: those calls fail; resumed batches still count
                outcome.answers.update((key, exc) for key in rest)
            else:
                follow.append(self._follow(api, group, fresh, todo, identity, outcome, fresh=True))
        await asyncio.gather(*follow)

    async def _follow(self, api: BatchAPI, group: _Group, state: BatchState, todo: dict[str, ModelRequest],
                      identity: str, outcome: BatchOutcome, *, fresh: bool) -> None:  # fmt: skip
        """Hold (submit-only), or wait for the batch and collect it."""
        if fresh and self.submit_only:
            return self._hold(group, state, outcome, "submitted")
        model = group.model
        progress = await self._wait(api, model, state, once=self.submit_only)
        if progress is None:
            message = f"batch {state.batch_id} could not be polled; rerun the same command to resume it"
            error = ProviderError(model.provider, model.name, message)
            outcome.answers.update((key, error) for key in state.requests.values())
            return None
        if not progress.ended:
            return self._hold(group, state, outcome, "still processing")
        answers = await api.results(state.batch_id) if progress.problem is None else {}
        self._collect(model, state, progress, answers, todo, identity, outcome)
        self.store.forget(state)
        return None

    async def _submit(self, api: BatchAPI, model: ModelConfig, todo: dict[str, ModelRequest]) -> BatchState:
        bodies: list[tuple[str, dict[str, Any]]] = [(custom_id(k), api.body(r)) for k, r in todo.items()]
        try:
            batch_id = await api.submit(bodies)
        except ProviderError as exc:
            raise ProviderError(exc.provider, exc.model, f"submitting the batch of {_requests(len(bodies))} failed: "
                                f"{exc.detail}; rerun to submit it again, or drop --pc-batch to call directly",
                                status=exc.status) from None  # fmt: skip
        served, base_url = where_served(model)
        state = BatchState(batch_id, model.name, served, base_url, time.time(), {custom_id(k): k for k in todo})
        try:
            self.store.remember(state)
        except OSError as exc:  # the batch runs anyway; only a resume after an interruption is lost
            self.say(f"promptcheck: cannot remember batch {batch_id} in {self.store.folder} ({exc}); "
                     "an interrupted run will not resume it")  # fmt: skip
        self.say(f"promptcheck: batch {batch_id} ({model.name}): submitted {_requests(len(bodies))}")
        return state

    def _hold(self, group: _Group, state: BatchState, outcome: BatchOutcome, how: str) -> None:
        reason = (f"batch {state.batch_id} ({group.model.name}) {how} (--pc-batch-submit-only); rerun the same "
                  "command without --pc-batch-submit-only to collect its results")  # fmt: skip
        held = set(state.requests.values())
        for item in group.items:
            if any(run_key(item.model, c.request) in held for c in item.planned_calls()):
                outcome.held[item.nodeid] = reason

    async def _wait(self, api: BatchAPI, model: ModelConfig, state: BatchState, *, once: bool) -> BatchProgress | None:
        """Poll until the batch ends (``once``: a single look), saying where it stands; None: polling kept failing."""
        failures = 0
        while True:
            try:
                progress = await api.progress(state.batch_id)
            except ProviderError as exc:
                failures += 1
                self.say(f"promptcheck: batch {state.batch_id} ({model.name}): polling failed ({exc})")
                if failures >= _POLL_FAILURES:
                    return None
            else:
                failures = 0
                self.say(f"promptcheck: batch {state.batch_id} ({model.name}) {progress.status}: {progress.done} "
                         f"done, {progress.failed} failed, {progress.left} left, {_ago(state.submitted)} elapsed")  # fmt: skip
                if progress.ended or once:
                    return progress
            await asyncio.sleep(self.poll_s)

    def _collect(self, model: ModelConfig, state: BatchState, progress: BatchProgress,
                 answers: dict[str, BatchAnswer], todo: dict[str, ModelRequest], identity: str,
                 outcome: BatchOutcome) -> None:  # fmt: skip
        """Every request of the batch: its answer (stored in the cache), or an error naming batch and request."""
        for cid, key in state.requests.items():
            answer = answers.get(cid)
            if answer is None:
                why = progress.problem or f"the batch ended {progress.status} before this request was answered"
                fix = "rerun to submit it again in a new batch, or drop --pc-batch to call it directly"
                outcome.answers[key] = ProviderError(model.provider, model.name,
                                                     f"batch {state.batch_id}, request {cid}: {why}; {fix}")  # fmt: skip
            elif isinstance(answer, ProviderError):
                outcome.answers[key] = ProviderError(answer.provider, answer.model,
                                                     f"batch {state.batch_id}, request {cid}: {answer.detail}",
                                                     status=answer.status)  # fmt: skip
            elif isinstance(answer, Exception):
                outcome.answers[key] = answer
            else:
                request = todo.get(key)
                if self.cache is not None and request is not None:
                    self.cache.put(cache_key(model, request, identity), answer)
                outcome.answers[key] = replace(answer, batch_id=state.batch_id)


def batch_api(provider: Provider, model: ModelConfig) -> BatchAPI:
    """The batch API behind ``provider``, the built-in openai or anthropic provider (what it is, not its
    class, decides: a test run in one process may import the provider modules twice)."""
    if all(hasattr(provider, name) for name in ("_body", "_completion", "client")):
        if model.provider == "openai":
            from ..providers.batch_openai import OpenAIBatches

            return OpenAIBatches(provider)  # type: ignore[arg-type]
        if model.provider == "anthropic":
            from ..providers.batch_anthropic import AnthropicBatches

            return AnthropicBatches(provider)  # type: ignore[arg-type]
    raise ConfigError(
        f"model {model.name!r}: batch mode needs the built-in {model.provider} provider, but a plugin replaced it "
        f"({type(provider).__name__}); set `batch = false` for this model or drop --pc-batch"
    )


def _requests(count: int) -> str:
    return f"{count} request" + ("" if count == 1 else "s")


def _ago(since: float) -> str:
    seconds = max(time.time() - since, 0.0)
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


__all__ = ["BatchOutcome", "BatchRunner", "batch_api", "batches", "custom_id"]
