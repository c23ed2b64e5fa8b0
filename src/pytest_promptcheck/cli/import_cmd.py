"""``promptcheck import promptfoo|openai-evals|feedback``: bring an existing eval suite over.

``promptfoo CONFIG`` writes ``test_<config>.prompts.yaml`` (TODO comments for what did not map,
each at the config's file:line), appends the providers' ``[tool.promptcheck.model.NAME]`` tables to
pyproject.toml (created if missing; existing lines untouched) and, for promptfoo Python providers,
an adapter module beside it. ``openai-evals SAMPLES.jsonl`` writes a suite over ``cases_from`` rows
that carry the samples' messages. Both then lint the result and print a summary; exit 1 when the
lint finds problems. ``feedback`` is ``import-feedback`` (:mod:`.feedback`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..importers.openai_evals import EVALS, SampleProblem, import_openai_evals
from ..importers.promptfoo import ImportProblem, import_promptfoo
from ..importers.result import Imported, slug
from ..importers.suite_text import suite_text
from ..importers.toml_tables import TomlProblem, appended, existing_models
from ..outputs.artifacts import write_owned_text
from . import feedback, import_check, lint


def register(commands: Any) -> None:
    parser = commands.add_parser("import", help="bring a promptfoo config, OpenAI Evals samples or feedback over")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    promptfoo = kinds.add_parser("promptfoo", help="a promptfooconfig.yaml → a suite and model tables")
    promptfoo.add_argument("config", metavar="CONFIG", help="the promptfoo config (YAML or JSON)")
    promptfoo.add_argument("--check", action="store_true", help="compare rendered prompts with promptfoo's own")
    _common(promptfoo)
    promptfoo.set_defaults(handler=_cmd_promptfoo)
    evals = kinds.add_parser("openai-evals", help="OpenAI Evals samples (JSONL) → a suite over cases_from rows")
    evals.add_argument("samples", metavar="SAMPLES.jsonl", help="one sample per line: input messages + ideal")
    evals.add_argument("--eval", choices=EVALS, default="match", help="the eval class's match rule (default: match)")
    _common(evals)
    evals.set_defaults(handler=_cmd_openai_evals)
    feedback.arguments(kinds.add_parser("feedback", help="feedback rows (JSONL) → cases appended to a suite"))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=".", metavar="DIR", help="where the suite goes (default: .)")
    parser.add_argument("--name", metavar="NAME", help="the suite's name (default: from the source file's name)")
    parser.add_argument("--pyproject", metavar="PATH", help="the pyproject.toml to add models to (default: DIR's)")
    parser.add_argument("--force", action="store_true", help="overwrite a suite file that exists")
    parser.add_argument("--no-lint", action="store_true", help="do not lint the result")


def _targets(args: argparse.Namespace, source: Path) -> tuple[Path, Path]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = slug(args.name or source.stem, "imported").replace(".", "_")
    suite = out / f"test_{name.removeprefix('test_')}.prompts.yaml"
    if suite.exists() and not args.force:
        raise ImportProblem(f"{suite} exists; pass --force to overwrite it or --name to write another")
    return suite, Path(args.pyproject) if args.pyproject else out / "pyproject.toml"


def _cmd_promptfoo(args: argparse.Namespace) -> int:
    config = Path(args.config)
    try:
        suite, pyproject = _targets(args, config)
        text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
        imported = import_promptfoo(config, pyproject.parent.resolve(), existing_models(text))
        extra = {pyproject.parent / name: body for name, body in imported.files.items()}  # modules beside it
        _write(imported, suite, config, extra)
        write_owned_text(pyproject, appended(text, imported.models, config.name))
    except (ImportProblem, TomlProblem, OSError) as exc:
        print(f"promptcheck import promptfoo: {exc}", file=sys.stderr)
        return 1
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a shape no importer branch expected
        print(
            f"promptcheck import promptfoo: {config} has a part this importer cannot read ({exc!r}); "
            "simplify that part or report it with the config",
            file=sys.stderr,
        )
        return 1
    status = _report(imported, suite, pyproject, args)
    if args.check:
        print(import_check.compare(config, suite))
    return status


def _cmd_openai_evals(args: argparse.Namespace) -> int:
    samples = Path(args.samples)
    try:
        suite, pyproject = _targets(args, samples)
        rows = f"{suite.name.removeprefix('test_').removesuffix('.prompts.yaml')}.cases.jsonl"
        imported = import_openai_evals(samples, rows, args.eval)
        _write(imported, suite, samples, {suite.parent / rows: imported.files[rows]})
    except (ImportProblem, SampleProblem, OSError) as exc:
        print(f"promptcheck import openai-evals: {exc}", file=sys.stderr)
        return 1
    return _report(imported, suite, pyproject, args)


def _write(imported: Imported, suite: Path, source: Path, extra: dict[Path, str]) -> None:
    # the user's own suite and config, made from their own files: written as they are (outputs/artifacts.py)
    write_owned_text(suite, suite_text(imported.suite, source.name, imported.todos, imported.notes))
    for path, body in extra.items():
        write_owned_text(path, body)


def _report(imported: Imported, suite: Path, pyproject: Path, args: argparse.Namespace) -> int:
    for todo in sorted(imported.todos, key=lambda t: (str(t.source), t.line)):
        print(f"{todo.source}:{todo.line}: TODO {todo.text}")
    cases = len(imported.suite.get("cases", [])) or sum(1 for _ in imported.files.get(_rows(imported), "").splitlines())
    counts = imported.counts
    print(
        f"wrote {suite}: {cases} case(s), {len(imported.suite.get('prompts', {}))} prompt variant(s), "
        f"{len(imported.models)} model(s) added to {pyproject}; assertions: {counts['mapped']} mapped, "
        f"{counts['approximated']} approximated, {counts['unsupported']} unsupported; {len(imported.todos)} TODO(s)"
    )
    if args.no_lint:
        return 0
    here, target = Path.cwd(), str(suite.resolve())
    os.chdir(pyproject.parent)  # the project's config and rootdir, as a test run sees them
    try:
        return lint.run([target])
    finally:
        os.chdir(here)


def _rows(imported: Imported) -> str:
    return str(imported.suite.get("cases_from", ""))
