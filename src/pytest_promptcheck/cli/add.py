"""``promptcheck add FILE --id ID --var k=v ...``: call the model once and append the case (SPEC §11).

The prompt is rendered like collection renders it, the model (``--model``, else the suite's
``defaults.models``, else the project's first) is called once through the engine with the built-in
providers, the output is shown, and after confirmation (``--yes`` skips it) the case is appended
to the file without changing any other byte of it (see :mod:`.yaml_edit`). ``--as ideal`` stores the
output as the case's ``ideal`` with a ``fuzzy`` assertion on it; ``--as snapshot`` stores it in the
suite's snapshot file with a ``snapshot`` assertion.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import CliOptions, ProjectConfig, effective_call_settings, load_project_config
from ..config_models import ModelConfig
from ..errors import PromptcheckError, SuiteError
from .yaml_edit import FUZZY_MIN, EditError, appended_text, existing_ids, load_round_trip, write_validated


class AddError(Exception):
    """Why the case cannot be added; the message is shown as is."""


@dataclass(frozen=True)
class _Call:
    variant: str
    model: ModelConfig
    messages: tuple[dict[str, Any], ...]
    single_variant: bool


def register(commands: Any) -> None:
    add = commands.add_parser("add", help="call the model once and append the case to a suite file")
    add.add_argument("file", metavar="FILE", help="the suite file (*.prompts.yaml)")
    add.add_argument("--id", required=True, help="the new case's id")
    add.add_argument("--var", action="append", default=[], metavar="K=V", help="a template variable (repeatable)")
    add.add_argument("--variant", help="the prompt variant to render (default: the first)")
    add.add_argument("--model", help="the model to call (default: the suite's or project's first)")
    add.add_argument("--as", dest="store_as", choices=("ideal", "snapshot"), help="keep the output as the expectation")
    add.add_argument("--yes", action="store_true", help="append without asking")
    add.set_defaults(handler=_cmd_add)


def _cmd_add(args: argparse.Namespace) -> int:
    try:
        return _add(args)
    except (AddError, EditError, PromptcheckError) as exc:
        print(f"promptcheck add: {exc}", file=sys.stderr)
        return 1


def _add(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise AddError(f"no such suite file: {path}")
    text, doc = load_round_trip(path)
    if args.id in existing_ids(doc):
        raise AddError(f"{path} already has a case with id {args.id!r}; choose another --id")
    variables = _parse_vars(args.var)
    project = _project_for(path)
    call = _plan(path, doc, project, variables, args)
    from ..outputs.redact import redactor_for

    # the output becomes part of a suite (a file people commit): a secret the model echoed is scrubbed
    output = redactor_for(project).text(_call_model(project, call))
    print(f"--- output of {call.model.name} on prompt {call.variant} ---\n{output}\n---")
    if not args.yes and not _confirm(f"append case {args.id!r} to {path}?"):
        print("nothing written", file=sys.stderr)
        return 1
    case = _case(args.id, variables, output, args.store_as)
    write_validated(path, appended_text(text, doc, [case]))
    print(f"added case {args.id!r} to {path}")
    if args.store_as == "snapshot":
        _store_snapshot(path, project, args.id, call, output)
    return 0


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise AddError(f"--var {pair!r} is not k=v (e.g. --var ticket='refund me')")
        variables[key.strip()] = value
    return variables


def _project_for(path: Path) -> ProjectConfig:
    start = path.resolve().parent
    root = next((d for d in (start, *start.parents) if (d / "pyproject.toml").is_file()), Path.cwd())
    return load_project_config(root, None, {}, CliOptions(), cwd=Path.cwd())


def _plan(path: Path, doc: Any, project: ProjectConfig, variables: dict[str, str], args: argparse.Namespace) -> _Call:
    from ..suites.load import load_suite
    from ..suites.render import PromptRenderer, RenderError

    policy = project.suite_policy(project.root)
    try:
        suite = load_suite(path, policy).suite
    except SuiteError as exc:
        raise AddError("the suite is invalid; fix it first:\n" + "\n".join(map(str, exc.problems))) from None
    names = [v.name for v in suite.variants]
    name = args.variant or names[0]
    if name not in names:
        raise AddError(f"no prompt variant {name!r} in {path} (variants: {', '.join(names)})")
    variant = suite.variants[names.index(name)]
    try:
        messages = PromptRenderer(path.parent, policy).render(variant, variables)
    except RenderError as exc:
        raise AddError(f"prompt {name!r}: {exc}; pass it with --var NAME=VALUE") from None
    return _Call(name, _model(project, doc, args.model), messages, len(names) == 1)


def _model(project: ProjectConfig, doc: Any, wanted: str | None) -> ModelConfig:
    defaults = doc.get("defaults") or {}
    suite_models = tuple(defaults.get("models") or ()) or None
    name = wanted or next(iter(project.models_for(suite_models)), None)
    if name is None or name not in project.models:
        known = ", ".join(sorted(project.models)) or "none"
        raise AddError(f"unknown model {name!r} (configured in {project.source}: {known}); pass --model NAME")
    return project.models[name]


def _call_model(project: ProjectConfig, call: _Call) -> str:
    from .. import bundled
    from ..calls.engine import Engine
    from ..providers.base import ModelRequest, ProviderContext
    from ..providers.registry import ProviderRegistry

    registry = ProviderRegistry()
    bundled.pytest_promptcheck_register_providers(registry)
    factory = registry.get(call.model.provider)
    if factory is None:
        raise AddError(f"model {call.model.name!r} uses provider {call.model.provider!r}, not a built-in one")
    settings = effective_call_settings(project, call.model, {}, 1)
    request = ModelRequest(messages=call.messages, params=settings.params, timeout=settings.timeout)
    engine = Engine(ProviderContext(project, project.root))
    try:
        return engine.submit(call.model, factory, request).result().output
    finally:
        engine.close()


def _confirm(question: str) -> bool:
    print(f"{question} [y/N] ", end="", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _case(case_id: str, variables: dict[str, str], output: str, store_as: str | None) -> dict[str, Any]:
    case: dict[str, Any] = {"id": case_id, "vars": variables}
    if store_as == "ideal":
        case["ideal"] = output
        case["assert"] = [{"fuzzy": {"value": output, "min": FUZZY_MIN}}]
    elif store_as == "snapshot":
        case["assert"] = ["snapshot"]
    return case


def _store_snapshot(path: Path, project: ProjectConfig, case_id: str, call: _Call, output: str) -> None:
    from ..stores.snapshots import item_key_prefix, snapshot_path, suite_name_of, write_snapshots

    params = call.model.name if call.single_variant else f"{call.variant}-{call.model.name}"
    key = f"{item_key_prefix(path, project.root)}::{case_id}[{params}]"
    target = snapshot_path(path, suite_name_of(path))
    from ..outputs.redact import redactor_for

    write_snapshots(target, {key: output}, set(), redactor_for(project))
    print(f"snapshot {key!r} written to {target}")
