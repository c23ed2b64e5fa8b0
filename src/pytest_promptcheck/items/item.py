"""``PromptItem``: one case on one prompt variant and one model, and the run record it leaves.

Setup waits for the item's calls (started ahead by the scheduler) and judges them; the call phase
only reports the verdict, so provider failures are *errors* and wrong answers *failures*.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy
import pytest

from ..calls.keys import snapshot_key
from ..calls.plan import Call, confirmation_calls, plan_calls
from ..config import ProjectConfig, effective_call_settings
from ..config_models import ModelConfig
from ..errors import ConfigError, PromptcheckError, ProviderError, SuiteError
from ..outputs.failure import explain, format_failure
from ..providers.base import Completion, ModelRequest
from ..runs import record
from ..runs.record import ItemRecord, JudgeCallRecord
from ..session import get_session
from ..suites.model import Case, PromptVariant, Suite, bindings
from ..textutil import clip, safe_url
from ..verdicts.base import CheckContext
from ..verdicts.evaluate import CallVerdict, PreparedAssertion, PromptAssertionError, Verdict, check_call, item_verdict
from ..verdicts.model_graded import JUDGE_UNREADABLE
from .call_records import call_record, jsonable, judge_call_record, planned_judge_calls, unanswered_call
from .conversation import ConversationPlan, conversation_verdict, dry_run_calls, run_conversations

if TYPE_CHECKING:
    from ..session import Registries


class PromptItem(pytest.Item):
    """One case on one prompt variant and one model; its calls are its repeats × counterfactual values."""

    def __init__(
        self,
        *,
        case: Case,
        variant: PromptVariant,
        model: ModelConfig,
        rendered: tuple[Any, ...],
        assertions: tuple[PreparedAssertion, ...],
        suite: Suite,
        snapshots: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Reports (not items) reach the xdist controller; these properties let it aggregate per model.
        self.user_properties.append(("promptcheck_model", model.name))
        self.user_properties.append(("promptcheck_variant", variant.name))
        self.case = case
        self.variant = variant
        self.model = model
        self.rendered = rendered
        self.assertions = assertions
        self.suite = suite
        self.snapshots = snapshots
        self.planned: list[Call] = []
        self.completions: list[Completion] = []  # one per planned call, in order
        self._judge_log: list[tuple[JudgeCallRecord, ...]] = []  # per judged call: the grader calls made
        self.drift: tuple[str, ...] = ()  # set on the item that found baseline/candidate drift
        self.verdict: Verdict | None = None
        self.confirmations: tuple[bool, ...] = ()  # the gate's re-samples of a critical case
        self.confirmation_calls: list[Call] = []  # their calls (recorded to cassettes like the others)
        self.conversation: ConversationPlan | None = None  # a multi-turn case's turns (set by the collector)
        if case.source is not None:
            self.path = case.source  # reportinfo points at the cases_from row

    @property
    def project(self) -> ProjectConfig:
        return get_session(self.config).project

    @property
    def suite_relpath(self) -> str:
        """The suite file relative to the rootdir, with forward slashes (stable across machines)."""
        return self.parent.suite_relpath  # type: ignore[union-attr]

    # -- what runs -------------------------------------------------------------------------------
    def planned_calls(self) -> list[Call]:
        """Every call of this item: its repeats × counterfactual values (a multi-turn case: their first turns)."""
        project = get_session(self.config).project
        if self.conversation is None:
            return plan_calls(project, self.model, self.case, self.rendered)
        first = plan_calls(project, self.model, self.case, self.conversation.first_messages(self.rendered))
        return [dataclasses.replace(call, turn=1) for call in first]

    def setup(self) -> None:
        """Wait for this item's calls and judge them.

        Everything that can go wrong apart from the verdict happens here, in setup, so it is an
        *error*: a provider failure, a judge model failing, a bug in a user's check function.
        """
        state = get_session(self.config)
        if state.project.dry_run:
            pytest.skip("dry run (--pc-dry-run): no model called")
        scheduled = state.scheduler.take(self)
        self.planned = scheduled.planned
        problem = None
        try:
            self.completions = state.scheduler.wait(scheduled)
            if self.conversation is not None:
                self.verdict = self._converse(self.conversation)
            else:
                self.verdict = self._judge(self.planned, self.completions, self._judge_log)
            problem = _unreadable_judge(self.verdict)
            if problem is None and self._needs_confirmation(self.verdict):
                self.confirmations = self._confirm(state.project.gate.confirm)
        except PromptcheckError as exc:
            problem = _setup_problem(exc)
        if problem is not None:
            # Outside the except block: no "during handling of the above exception" noise. Setup
            # errors bypass repr_failure, so fail without a traceback: the message says it all.
            pytest.fail(state.redactor.text(f"{self._header()}\n{problem}"), pytrace=False)
        assert self.verdict is not None
        self.drift = state.check_drift()
        self.user_properties.append(("promptcheck_pass_rate", f"{self.verdict.pass_rate:.3f}"))
        self.user_properties.append(("promptcheck_calls", str(len(self.verdict.calls))))
        for completion in self.completions:  # every sample and counterfactual value: a bias reviewer compares them
            self.user_properties.append(("promptcheck_output", clip(state.redactor.text(completion.output), 500)))
        for call in self.verdict.calls:
            for result in call.failed():
                self.user_properties.append(("promptcheck_reason", clip(explain(result, state.redactor.text), 500)))

    def _judge(
        self,
        planned: list[Call],
        completions: list[Completion],
        judge_log: list[tuple[JudgeCallRecord, ...]] | None = None,
    ) -> Verdict:
        """The verdict on the item's answered calls; ``judge_log`` gets, per call, the grader calls made judging it."""
        many = len(completions) > 1
        calls = [self._check(c, answer, self.assertions, many, judge_log) for c, answer in zip(planned, completions)]
        return item_verdict(self.nodeid, calls, min_pass=self.case.repeat.min_pass)

    def _check(
        self, call: Call, completion: Completion, assertions: tuple[PreparedAssertion, ...], many: bool,
        judge_log: list[tuple[JudgeCallRecord, ...]] | None,
    ) -> CallVerdict:  # fmt: skip
        """The verdict on one answered call; ``judge_log`` gets the grader calls made judging it."""
        made: list[JudgeCallRecord] = []
        context = CheckContext(
            completion=completion,
            case=self.case,
            model=self.model,
            variant=self.variant.name,
            messages=call.messages,
            item_id=self.nodeid,
            snapshot_key=snapshot_key(self.nodeid, call.sample, call.binding, many, call.turn),
            suite_path=self.suite.path,
            snapshots=self.snapshots,
            call_model=functools.partial(self._call_model, log=made),
        )
        verdict = check_call(
            assertions, context, threshold=self.case.threshold, sample_index=call.sample, binding=call.binding
        )
        if judge_log is not None:
            judge_log.append(tuple(made))
        return verdict

    def _binding_index(self, call: Call) -> int:
        """Which of the case's counterfactual bindings ``call`` renders (its user turns' texts are per binding)."""
        return [repr(sorted(b.items())) for b in bindings(self.case)].index(repr(sorted(call.binding.items())))

    def _converse(self, plan: ConversationPlan) -> Verdict:
        """Run the later turns of each conversation (the first turns are answered) and judge every turn."""
        state = get_session(self.config)
        registries: Registries = self.parent.registries  # type: ignore[union-attr]
        factory = registries.provider_for(self.model)
        calls, answers, verdicts, passes = run_conversations(
            plan, self.planned, self.completions, binding_of=self._binding_index, variables=dict(self.case.vars),
            submit=lambda request: state.engine.submit(self.model, factory, request),
            judge=lambda call, answer, assertions: self._check(call, answer, assertions, True, self._judge_log),
        )  # fmt: skip
        self.planned, self.completions = calls, answers
        return conversation_verdict(self.nodeid, verdicts, passes, self.case.repeat.min_pass)

    # -- the gate's confirmation of a critical case (``confirm``, runs/gate.py) --------------------
    @property
    def sampled(self) -> bool:
        """Whether outputs vary between samples: temperature > 0, repeats, or a judge grading them."""
        project = self.project
        settings = effective_call_settings(project, self.model, self.case.params, self.case.repeat.n)
        temperature = settings.params.get("temperature") or 0
        judged = any(a.type.name in ("judge", "rubric") for a in self.assertions)
        return settings.repeat > 1 or (isinstance(temperature, (int, float)) and temperature > 0) or judged

    def _needs_confirmation(self, verdict: Verdict) -> bool:
        """A sampled critical case whose verdict would make a regression: passing on the baseline, failing on
        the candidate. Greedy, deterministic outputs need no confirmation: a re-sample says the same."""
        project = self.project
        if self.conversation is not None:  # re-sampling a conversation is not supported yet
            return False
        if not project.gate.confirm or "critical" not in self.case.tags or not self.sampled:
            return False
        side = project.side_of(self.model.name)
        return (side == "baseline" and verdict.passed) or (side == "candidate" and not verdict.passed)

    def _confirm(self, count: int) -> tuple[bool, ...]:
        """The verdicts of ``count`` re-samples of the whole item (new sample indexes, so new seeds)."""
        state = get_session(self.config)
        registries: Registries = self.parent.registries  # type: ignore[union-attr]
        factory = registries.provider_for(self.model)
        samples = max(c.sample for c in self.planned) + 1
        verdicts = []
        for round_ in range(count):
            calls = confirmation_calls(self.planned, first_sample=samples * (round_ + 1), seed=state.project.seed)
            self.confirmation_calls += calls
            futures = [state.engine.submit(self.model, factory, c.request) for c in calls]
            verdicts.append(self._judge(calls, [f.result() for f in futures]).passed)
        return tuple(verdicts)

    # -- the run record -------------------------------------------------------------------------
    def attach_record(self, report: pytest.TestReport) -> None:
        """Attach the record to the report of the item's deciding phase (call, or a failed/skipped setup)."""
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = "error" if report.when == "setup" and report.failed else report.outcome
            error = str(report.longrepr) if outcome == "error" else None
            record.attach(report, self.record(outcome, error))

    def record(self, outcome: str, error: str | None) -> ItemRecord:
        """What was asked, what came back and what was judged (a dry run or an error: what would be sent)."""
        project = self.project
        if self.verdict is not None:
            scrub = get_session(self.config).redactor.text
            judges = self._judge_log or [()] * len(self.planned)
            calls = tuple(
                call_record(c, v, j, price=self.model.price, scrub=scrub)
                for c, v, j in zip(self.planned, self.verdict.calls, judges)
            )
        elif project.dry_run:  # what would be sent, grader calls included: the controller lists and prices them
            planned = self.planned_calls()
            if self.conversation is not None:  # every turn, the replies unknown: counted and estimated
                planned = dry_run_calls(self.conversation, planned, self._binding_index)
            calls = tuple(
                unanswered_call(call, planned_judge_calls(project, self.assertions, call)) for call in planned
            )
        else:
            calls = tuple(unanswered_call(call) for call in self.planned)
        return ItemRecord(
            item=self.nodeid,
            suite=self.suite_relpath,
            case=self.case.id,
            variant=self.variant.name,
            model=self.model.name,
            provider=self.model.provider,
            served=self.model.describe_resolved(),
            base_url=safe_url(self.model.resolved_or_raw("base_url")),
            side=project.side_of(self.model.name),
            tags=tuple(self.case.tags),
            ideal=self.case.ideal,
            outcome=outcome,
            error=error,
            threshold=self.case.threshold,
            min_pass=self.case.repeat.min_pass,
            calls=calls,
            suite_metrics=jsonable(self.suite.metrics),  # thresholds: the xdist controller never collects
            sampled=self.sampled,
            confirmations=self.confirmations,
            drift=self.drift,
            chosen_vars={k: str(self.case.vars[k]) for k in project.analysis.vars if k in self.case.vars},
            tools=tuple(jsonable(list(self.planned[0].request.tools))) if self.planned else (),
            ideal_tool_call=jsonable(self.case.ideal_tool_call),
        )

    def runtest(self) -> None:
        if self.verdict is not None and not self.verdict.passed:
            raise PromptAssertionError(self.verdict)

    # -- how it is reported ----------------------------------------------------------------------
    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        error = excinfo.value
        if isinstance(error, PromptAssertionError):
            verbose = self.config.get_verbosity() > 0
            redactor = get_session(self.config).redactor  # a model may echo a secret it was shown
            text = format_failure(error.verdict, header=self._header(), verbose=verbose, scrub=redactor.text)
            return redactor.text(text)
        return super().repr_failure(excinfo)

    def _call_model(
        self,
        name: str,
        messages: list[dict[str, str]],
        params: dict[str, Any] | None = None,
        *,
        log: list[JudgeCallRecord] | None = None,
    ) -> Completion:
        """Call another configured model (a judge) through the engine, with its own params and timeout.

        ``log`` gets the call's record: a grader's calls are counted, priced and recorded like any call.
        """
        state = get_session(self.config)
        model = state.project.models.get(name)
        if model is None:
            known = ", ".join(sorted(state.project.models))
            raise ConfigError(f"unknown model {name!r} for a model-graded assertion (configured: {known})")
        registries: Registries = self.parent.registries  # type: ignore[union-attr]
        factory = registries.provider_for(model)
        settings = effective_call_settings(state.project, model, params or {}, 1)
        request = ModelRequest(messages=tuple(messages), params=settings.params, timeout=settings.timeout)
        completion = state.engine.submit(model, factory, request).result()
        if log is not None:
            log.append(judge_call_record(name, messages, settings.params, completion, model.price))
        return completion

    def _traceback_filter(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
        """Keep the user's frames (their model function, their check); drop pytest, pluggy, asyncio and ours.

        A crash in user code is a real bug and keeps its traceback, but without ~600 lines of runner.
        """
        traceback = excinfo.traceback
        user = traceback.filter(lambda entry: not any(part in str(entry.path) for part in _INTERNAL_PATHS))
        return user if len(user) else traceback

    def _header(self) -> str:
        model = self.model
        return f"case {self.case.id!r} · prompt {self.variant.name} · model {model.name} ({model.describe_resolved()})"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"case: {self.name}"


# Frames from these places are machinery, not the user's code (see PromptItem._traceback_filter).
_INTERNAL_PATHS = tuple(
    str(p)
    for p in (
        Path(pytest.__file__).parent.parent / "_pytest",
        Path(pluggy.__file__).parent,
        Path(asyncio.__file__).parent,
        Path(concurrent.futures.__file__).parent,
        Path(threading.__file__),
        Path(__file__).parent.parent,  # the whole package
    )
)


def _unreadable_judge(verdict: Verdict) -> str | None:
    """A grader's answer that could not be read (even when asked again) is no verdict: the item errors."""
    for call in verdict.calls:
        for result in call.results:
            if (result.outcome.details or {}).get("undecided") == JUDGE_UNREADABLE:
                return f"{JUDGE_UNREADABLE}: {result.outcome.reason}"
    return None


def _setup_problem(exc: PromptcheckError) -> str:
    if isinstance(exc, SuiteError):
        return "invalid file: " + "\n".join(map(str, exc.problems))
    if isinstance(exc, ProviderError):
        return f"model call failed: {exc}"
    return f"configuration problem: {exc}"  # ConfigError, MissingDependencyError
