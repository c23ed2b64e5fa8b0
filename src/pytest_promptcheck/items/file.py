"""Suite files become ``PromptFile`` collectors; each case × prompt variant × model a ``PromptItem``."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .. import __version__
from ..errors import ConfigError, SuiteError, SuiteProblem
from ..session import PromptSession, Registries, get_session
from ..suites.limits import planned_calls_message
from ..suites.model import LoadedSuite, Suite
from ..suites.parse_cache import load_suite_cached
from ..verdicts.evaluate import PreparedAssertion
from .content_check import check_images
from .conversation import conversation_plan
from .item import PromptItem
from .prepare import CasePreparer


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
        policy = state.project.suite_policy(self.config.rootpath)
        loaded = load_suite_cached(self.path, state.suite_cache_dir(), __version__, policy)
        _check_planned_calls(loaded.suite, state, policy.limits.calls)
        registries = self.registries = state.registries_for(self)
        preparer = CasePreparer(self, state, loaded.suite, registries)
        prepared = preparer.prepare_all()
        _check_python_models(self, state, loaded.suite, registries)
        check_images(loaded, state.project)
        snapshots = state.snapshot_store(self.path, loaded.suite.name)
        for item in _items(self, state, loaded, prepared, snapshots):
            if item.case.turns:  # a multi-turn case runs its later turns inside the item
                item.conversation = conversation_plan(item.case, loaded, preparer)
            yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SuiteError):
            problems = [_relative(p, self.config.invocation_params.dir) for p in excinfo.value.problems]
            head = f"{len(problems)} problem(s) in this suite; fix them and run again:" if len(problems) > 1 else ""
            return "\n".join(filter(None, [head, *map(str, problems)]))
        if isinstance(excinfo.value, ConfigError):
            return f"{self.path}: {excinfo.value}"
        return super().repr_failure(excinfo)


def _check_python_models(node: PromptFile, state: PromptSession, suite: Suite, registries: Registries) -> None:
    """Import the built-in ``python`` models this suite uses and check their functions now: a wrong target
    (``os:system``, a class, the wrong signature) is a collection error, never a call. A provider that a
    conftest registers in place of ours checks its own models."""
    from ..providers import python

    option = node.config.option
    if option.pc_lint or option.pc_replay or registries.providers.get("python") is not python.create:
        return  # lint imports no user Python (it lists what it would import); a replay calls no model
    project = state.project
    names = sorted({name for case in suite.cases for name in project.models_for(case.models)})
    for model in (project.models.get(name) for name in names):
        if model is not None and model.provider == "python":
            python.import_model_function(model, node.config.rootpath)


def _relative(problem: SuiteProblem, base: Path) -> SuiteProblem:
    """The problem with its path relative to where pytest was run (shorter, still clickable)."""
    try:
        return dataclasses.replace(problem, path=problem.path.relative_to(base))
    except ValueError:
        return problem


def _check_planned_calls(suite: Suite, state: PromptSession, limit: int) -> None:
    """The calls the suite plans (its items x repeats x counterfactual values) stay within ``limits.calls``.

    The loader bounds the prompts it renders; only here are the models and ``--pc-repeat`` known.
    """
    project = state.project
    calls = 0
    for case in suite.cases:
        repeat = project.repeat if project.repeat is not None else case.repeat.n
        swaps = math.prod(len(values) for values in case.counterfactual.values())
        calls += len(suite.variants) * len(project.models_for(case.models)) * repeat * swaps * max(1, len(case.turns))
        if calls > limit:
            product = "cases x prompt variants x models x repeats x counterfactual values"
            raise SuiteError.at(case.source or suite.path, case.line, planned_calls_message(limit, product), case.id)


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


def check_providers(items: list[PromptItem]) -> None:
    """After collection (conftests loaded), every model of a selected item needs a registered provider."""
    seen: set[tuple[int, str]] = set()
    for item in items:
        registries: Registries = item.parent.registries  # type: ignore[union-attr]
        key = (id(registries), item.model.name)
        if key not in seen:
            seen.add(key)
            try:
                registries.provider_for(item.model)
            except ConfigError as exc:
                if item.config.option.pc_lint and not _close(item.model.provider, registries.providers.names()):
                    get_session(item.config).lint_notes.append(  # a conftest.py may register it
                        f"{item.model.source}: provider {item.model.provider!r} is not built in; "
                        "lint does not load conftest.py, so it is not checked"
                    )
                    continue
                raise pytest.UsageError(f"pytest-promptcheck: {exc}") from None


def _close(name: str, known: list[str]) -> bool:
    """Whether ``name`` looks like a typo of a registered name (then lint reports it, conftest or not)."""
    return bool(difflib.get_close_matches(name, known, n=1, cutoff=0.6))
