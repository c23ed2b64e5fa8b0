"""Suite files become ``PromptFile`` collectors; each case × prompt variant × model a ``PromptItem``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from . import __version__, results
from .assertions.base import BadArgument, CheckContext, PrepareContext
from .assertions.evaluate import CallVerdict, PreparedAssertion, Verdict, check_call, item_verdict
from .config import ModelConfig, ProjectConfig, effective_call_settings
from .errors import ConfigError, PromptAssertionError, PromptcheckError, ProviderError, SuiteError, SuiteProblem
from .providers.base import Completion, ModelRequest
from .report.failure import format_failure
from .session import PromptSession, Registries, get_session
from .spec.cache import load_suite_cached
from .spec.model import Case, LoadedSuite, PromptVariant, Suite, bindings


class PromptFile(pytest.File):
    """One ``test_*.prompts.yaml`` suite."""

    registries: Registries  # set by collect(): providers and assertions visible from this folder

    @functools.cached_property
    def suite_relpath(self) -> str:
        """The suite file relative to the rootdir, with forward slashes (stable across machines)."""
        try:
            return self.path.relative_to(self.config.rootpath).as_posix()
        except ValueError:
            return self.path.as_posix()

    def collect(self) -> Iterator[PromptItem]:
        state = get_session(self.config)
        state.suites_collected += 1
        loaded = load_suite_cached(self.path, state.suite_cache_dir(), __version__)
        registries = self.registries = state.registries_for(self)
        prepared = _CasePreparer(self, state, loaded.suite, registries).prepare_all()
        snapshots = state.snapshot_store(self.path, loaded.suite.name)
        yield from _items(self, state, loaded, prepared, snapshots)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SuiteError):
            problems = [_relative(p, self.config.invocation_params.dir) for p in excinfo.value.problems]
            head = f"{len(problems)} problem(s) in this suite; fix them and run again:" if len(problems) > 1 else ""
            return "\n".join(filter(None, [head, *map(str, problems)]))
        if isinstance(excinfo.value, ConfigError):
            return f"{self.path}: {excinfo.value}"
        return super().repr_failure(excinfo)


_UNPREPARED = object()


class _CasePreparer:
    """Checks what needs plugins and config (tags, models, assertions) and prepares assertion arguments."""

    def __init__(self, node: PromptFile, state: PromptSession, suite: Suite, registries: Registries) -> None:
        self.node = node
        self.state = state
        self.suite = suite
        self.registries = registries
        self.problems: list[SuiteProblem] = []
        self._prepared: dict[tuple[str, str], Any] = {}
        self._seen: dict[tuple[Path, int, str], SuiteProblem] = {}
        project = state.project
        self.context = PrepareContext(
            node.path.parent, node.config.rootpath, judge_model=project.judge,
            embedding_model=project.embedding_model, models=tuple(project.models),
        )  # fmt: skip

    def prepare_all(self) -> dict[str, tuple[PreparedAssertion, ...]]:
        prepared = {case.id: self._case(case) for case in self.suite.cases}
        if not self.state.project.models and not self.problems:
            self._problem(
                None,
                1,
                "no model is configured; add [tool.promptcheck.model.NAME] to pyproject.toml "
                "or pass --pc-model NAME=python:module:function",
            )
        if self.problems:
            raise SuiteError(self.problems)
        return prepared

    def _problem(self, case: Case | None, line: int, message: str) -> None:
        path = case.source if case is not None and case.source is not None else self.suite.path
        seen = self._seen.get((path, line, message))
        if seen is not None:  # the same line for several cases: it is in `defaults`, not one case's
            seen.case = None
            return
        self._seen[(path, line, message)] = problem = SuiteProblem(path, line, message, case.id if case else None)
        self.problems.append(problem)

    def _case(self, case: Case) -> tuple[PreparedAssertion, ...]:
        for name in case.models or ():
            if name not in self.state.project.models:
                known = ", ".join(sorted(self.state.project.models)) or "none"
                self._problem(
                    case,
                    case.models_line or case.line,
                    f"unknown model {name!r} (configured: {known}); define [tool.promptcheck.model.{name}] "
                    f"or remove it from `models`",
                )
        return tuple(filter(None, (self._assertion(case, spec) for spec in case.assertions)))

    def _assertion(self, case: Case, spec: Any) -> PreparedAssertion | None:
        if spec.name == "<invalid>":
            return None  # already reported by the loader
        resolved = self.registries.assertions.resolve(spec.name)
        if resolved is None:
            hint = self.registries.assertions.suggest(spec.name)
            did_you_mean = f"did you mean {' or '.join(map(repr, hint))}? " if hint else ""
            self._problem(
                case,
                spec.line,
                f"unknown assertion {spec.name!r}; {did_you_mean}known: {', '.join(self.registries.assertions.names())} "
                "(custom ones register through pytest_promptcheck_register_assertions)",
            )
            return None
        kind, negated = resolved
        # Cases share assertions (defaults, generated suites): prepare each distinct argument once.
        memo_key = (spec.name, repr(spec.arg))
        arg = self._prepared.get(memo_key, _UNPREPARED)
        if arg is _UNPREPARED:
            try:
                arg = kind.prepared(_plain(spec.arg), self.context)
            except BadArgument as exc:
                self._problem(case, spec.line, str(exc))
                return None
            self._prepared[memo_key] = arg
        return PreparedAssertion(spec, kind, arg, negate=negated != spec.negate)


def _plain(value: Any) -> Any:
    """A YAML argument as plain dicts/lists, so messages say ``dict``/``list`` (not LineDict)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _relative(problem: SuiteProblem, base: Path) -> SuiteProblem:
    """The problem with its path relative to where pytest was run (shorter, still clickable)."""
    try:
        return dataclasses.replace(problem, path=problem.path.relative_to(base))
    except ValueError:
        return problem


def _items(
    parent: PromptFile,
    state: PromptSession,
    loaded: LoadedSuite,
    prepared: dict[str, tuple[PreparedAssertion, ...]],
    snapshots: Any,
) -> Iterator[PromptItem]:
    suite = loaded.suite
    project = state.project
    single_variant = len(suite.variants) == 1
    for case in suite.cases:
        markers = [_marker(state, parent.config, tag) for tag in case.tags]
        for variant in suite.variants:
            messages = loaded.rendered[(case.id, variant.name)]
            for model_name in project.models_for(case.models):
                name = f"{case.id}[{model_name}]" if single_variant else f"{case.id}[{variant.name}-{model_name}]"
                item = PromptItem.from_parent(
                    parent,
                    name=name,
                    nodeid=_item_nodeid(parent, case.id, name),
                    case=case,
                    variant=variant,
                    model=project.models[model_name],
                    rendered=messages,
                    assertions=prepared[case.id],
                    suite=suite,
                    snapshots=snapshots,
                )
                for marker in markers:
                    item.add_marker(marker)
                yield item


def _item_nodeid(parent: PromptFile, case_id: str, name: str) -> Any:
    """The item's node id, built so that ``--lf`` can find it again.

    pytest 9 keeps structured ids and parses stored ids (``--lf``) by splitting ``[...]`` off as
    params; an id derived from a name containing brackets would never compare equal. Build the
    structured id directly (parsing 10,000 strings costs ~0.4 s); older pytest takes the string.
    """
    structured = getattr(parent, "id", None)
    if structured is not None and hasattr(structured, "with_params"):
        return structured.child(case_id).with_params(name[len(case_id) + 1 : -1])
    return f"{parent.nodeid}::{name}"


def _marker(state: PromptSession, config: pytest.Config, tag: str) -> pytest.MarkDecorator:
    """The marker for a tag, registered on first use so ``--strict-markers`` accepts it."""
    marker = state.tag_markers.get(tag)
    if marker is None:
        if tag not in {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}:
            config.addinivalue_line("markers", f"{tag}: promptcheck tag (from a suite's `tags:`)")
        marker = state.tag_markers[tag] = getattr(pytest.mark, tag)
    return marker


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
        self.completions: list[tuple[int, dict[str, Any], Any, Completion]] = []
        self.planned: list[tuple[int, dict[str, Any], Any, ModelRequest]] = []
        self.verdict: Verdict | None = None
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
    def planned_calls(self) -> list[tuple[int, dict[str, Any], Any, ModelRequest]]:
        """(sample index, counterfactual binding, messages, request) for every call of this item."""
        project = get_session(self.config).project
        settings = effective_call_settings(project, self.model, self.case.params, self.case.repeat.n)
        calls = []
        for binding, messages in zip(bindings(self.case), self.rendered):
            for sample in range(settings.repeat):
                request = ModelRequest(
                    messages=messages,
                    params=settings.params,
                    timeout=settings.timeout,
                    seed=derive_seed(project.seed, self.case.id, sample),
                    sample_index=sample,
                    case_id=self.case.id,
                )
                calls.append((sample, binding, messages, request))
        return calls

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
            completions = [future.result() for future in scheduled.futures]
            self.completions = [(s, b, m, c) for (s, b, m, _), c in zip(scheduled.planned, completions)]
            self.verdict = self._judge()
        except PromptcheckError as exc:
            problem = _setup_problem(exc)
        if problem is not None:
            # Outside the except block: no "during handling of the above exception" noise. Setup
            # errors bypass repr_failure, so fail without a traceback: the message says it all.
            pytest.fail(state.redactor.text(f"{self._header()}\n{problem}"), pytrace=False)
        assert self.verdict is not None
        state.check_drift()
        state.verdicts.append(self.verdict)
        self.user_properties.append(("promptcheck_pass_rate", f"{self.verdict.pass_rate:.3f}"))
        self.user_properties.append(("promptcheck_calls", str(len(self.verdict.calls))))
        output = state.redactor.text(_clip(self.completions[0][3].output, 500))
        self.user_properties.append(("promptcheck_output", output))

    def _judge(self) -> Verdict:
        calls: list[CallVerdict] = []
        many = len(self.completions) > 1
        for sample, binding, messages, completion in self.completions:
            context = CheckContext(
                completion=completion,
                case=self.case,
                model=self.model,
                variant=self.variant.name,
                messages=messages,
                item_id=self.nodeid,
                call_key=_call_key(self.nodeid, sample, binding, many),
                suite_path=self.suite.path,
                snapshots=self.snapshots,
                call_model=self._call_model,
            )
            calls.append(check_call(
                self.assertions, context, threshold=self.case.threshold, sample_index=sample, binding=binding,
            ))  # fmt: skip
        return item_verdict(self.nodeid, calls, min_pass=self.case.repeat.min_pass)

    def attach_record(self, report: pytest.TestReport) -> None:
        results.attach(self, report)

    def runtest(self) -> None:
        if self.verdict is not None and not self.verdict.passed:
            raise PromptAssertionError(self.verdict)

    # -- how it is reported ----------------------------------------------------------------------
    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        error = excinfo.value
        if isinstance(error, PromptAssertionError):
            verbose = self.config.get_verbosity() > 0
            text = format_failure(error.verdict, header=self._header(), verbose=verbose)
            return get_session(self.config).redactor.text(text)  # a model may echo a secret it was shown
        return super().repr_failure(excinfo)

    def _call_model(
        self, name: str, messages: list[dict[str, str]], params: dict[str, Any] | None = None
    ) -> Completion:
        """Call another configured model (a judge) through the engine, with its own params and timeout."""
        state = get_session(self.config)
        model = state.project.models.get(name)
        if model is None:
            known = ", ".join(sorted(state.project.models))
            raise ConfigError(f"unknown model {name!r} for a model-graded assertion (configured: {known})")
        registries = self.parent.registries  # type: ignore[union-attr]
        factory = registries.providers.get(model.provider)
        if factory is None:
            raise ConfigError(_unknown_provider(model, registries))
        settings = effective_call_settings(state.project, model, params or {}, 1)
        request = ModelRequest(messages=tuple(messages), params=settings.params, timeout=settings.timeout)
        return state.engine.submit(model, factory, request).result()

    def _traceback_filter(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
        """Keep the user's frames (their model function, their check); drop pytest, pluggy, asyncio and ours.

        A crash in user code is a real bug and keeps its traceback, but without ~600 lines of runner.
        """
        traceback = excinfo.traceback
        user = traceback.filter(lambda entry: not any(part in str(entry.path) for part in _INTERNAL_PATHS))
        return user if len(user) else traceback

    def _header(self) -> str:
        return f"case {self.case.id!r} · prompt {self.variant.name} · model {self.model.name} ({self.model.describe()})"

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
        Path(__file__).parent,
    )
)


def check_providers(items: list[PromptItem], state: PromptSession) -> None:
    """After collection (conftests loaded), every model of a selected item needs a registered provider."""
    seen: set[tuple[int, str]] = set()
    for item in items:
        registries = item.parent.registries  # type: ignore[union-attr]
        key = (id(registries), item.model.name)
        if key in seen:
            continue
        seen.add(key)
        if registries.providers.get(item.model.provider) is None:
            raise pytest.UsageError(f"pytest-promptcheck: {_unknown_provider(item.model, registries)}")


def _setup_problem(exc: PromptcheckError) -> str:
    if isinstance(exc, SuiteError):
        return "invalid file: " + "\n".join(map(str, exc.problems))
    if isinstance(exc, ProviderError):
        return f"model call failed: {exc}"
    return f"configuration problem: {exc}"  # ConfigError, MissingDependencyError


def derive_seed(base: int, case_id: str, sample: int) -> int:
    """Each call's seed from (seed, case id, sample index): repeats differ, reruns repeat."""
    digest = hashlib.sha256(f"{base}\0{case_id}\0{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _call_key(item_id: str, sample: int, binding: dict[str, Any], many: bool) -> str:
    if not many:
        return item_id
    suffix = ",".join(f"{k}={v}" for k, v in binding.items())
    return f"{item_id}#{sample}" + (f"[{suffix}]" if suffix else "")


def _unknown_provider(model: ModelConfig, registries: Registries) -> str:
    return (
        f"model {model.name!r} ({model.source}) uses unknown provider {model.provider!r}; "
        f"registered: {', '.join(registries.providers.names())}. Register it with the "
        "pytest_promptcheck_register_providers hook (e.g. in conftest.py) or fix the name"
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
