"""A promptfoo config (``promptfooconfig.yaml``) → our suite document, model tables and TODOs.

prompts → prompt variants (inline, ``file://`` text files split on ``---``, chat JSON/YAML files),
providers → models (:mod:`.promptfoo_providers`), tests (inline or ``file://`` CSV/JSON/JSONL/YAML,
``__expected`` columns) with ``defaultTest`` merged and array vars expanded as promptfoo does →
cases, assertions through :mod:`.mapping`. Whatever does not carry over is a :class:`Todo` at the
config's file:line, never dropped silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

from ..errors import SuiteError
from ..suites.yamlload import load_yaml
from .promptfoo_asserts import AssertionsMixin
from .promptfoo_providers import ProviderMapper, read_providers
from .promptfoo_tests import csv_tests, expand
from .python_checks import ChecksModule
from .result import Imported, slug, unique
from .yaml_lines import key_line, lines_of

_TEXT_PROMPTS = (".txt", ".md", ".j2", ".prompt", ".jinja")
_KNOWN_TOP = {"description", "prompts", "providers", "tests", "defaultTest", "scenarios", "redteam", "outputPath"}
_KNOWN_TOP |= {"evaluateOptions", "env", "sharing", "tags", "nunjucksFilters", "extensions", "derivedMetrics"}
_JINJA = jinja2.Environment(undefined=jinja2.Undefined)


class ImportProblem(Exception):
    """The config cannot be read at all (not YAML, not a mapping, a missing file); says where."""


def import_promptfoo(config_path: Path, project_dir: Path, existing_models: dict[str, Any]) -> Imported:
    """Read ``config_path`` (a promptfoo config) and return the suite to write and what did not map."""
    return _Importer(config_path, project_dir, existing_models).run()


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportProblem(f"cannot read {path}: {exc.strerror}") from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ImportProblem(f"{path}: not valid JSON ({exc})") from None
    try:
        return load_yaml(text, path)
    except SuiteError as exc:
        raise ImportProblem(str(exc.problems[0]) if exc.problems else str(exc)) from None


class _Importer(AssertionsMixin):
    def __init__(self, config_path: Path, project_dir: Path, existing_models: dict[str, Any]) -> None:
        self.path = config_path
        self.dir = config_path.parent
        self.out = Imported()
        self.providers = ProviderMapper(self.out, config_path, project_dir, existing_models)
        self.case_ids: set[str] = set()
        self.judge: str | None = None
        self.models: list[str] = []
        self.used_vars: set[str] = set()  # every variable the prompts name
        self.project_dir = project_dir
        self.checks = ChecksModule()

    def run(self) -> Imported:
        doc = _load(self.path)
        if not isinstance(doc, dict):
            raise ImportProblem(f"{self.path}: a promptfoo config is a mapping with prompts, providers and tests")
        for key in doc:
            if key not in _KNOWN_TOP:
                self.todo(key_line(doc, key, 1), f"top-level key {key!r} is not imported", doc[key])
        for key in ("redteam", "scenarios", "extensions", "nunjucksFilters", "derivedMetrics"):
            if key in doc:
                self.todo(key_line(doc, key, 1), f"`{key}` has no equivalent here", doc[key])
        suite: dict[str, Any] = {}
        if doc.get("description"):
            suite["description"] = str(doc["description"])
        suite["prompts"] = self._prompts(doc.get("prompts"), key_line(doc, "prompts", 1))
        models = self.models = self._models(doc)
        defaults = self._default_test(doc)
        suite["defaults"] = {"models": models} if models else {}
        cases = self._tests(doc.get("tests"), key_line(doc, "tests", 1), defaults)
        if defaults.get("assert"):
            suite["defaults"]["assert"] = defaults["assert"]
        if defaults.get("threshold") is not None:
            suite["defaults"]["threshold"] = defaults["threshold"]
        if not suite["defaults"]:
            del suite["defaults"]
        suite["cases"] = self._fill_missing(cases)
        if not suite["prompts"]:
            del suite["prompts"]
        self.out.suite = suite
        return self.out

    def _fill_missing(self, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Nunjucks renders a variable a test leaves out as empty text; Jinja2 here (StrictUndefined)
        would refuse the case, so such a variable is set to "" in that case, which renders the same."""
        for case in cases:
            missing = sorted(self.used_vars - set(case["vars"]) - set(_JINJA.globals))
            if missing:
                case["vars"].update(dict.fromkeys(missing, ""))
                self.out.note(f'variables a test leaves out are set to "" (promptfoo renders them empty): {missing}')
        return cases

    # -- prompts ---------------------------------------------------------------------------------
    def _prompts(self, raw: Any, line: int) -> dict[str, Any]:
        if raw is None:
            self.todo(line, "the config has no prompts; add `prompts:` to the suite")
            return {}
        if isinstance(raw, dict) and not {"raw", "id"} & set(raw):  # {file://path: label}
            items: list[Any] = [{"id": k, "label": v} for k, v in raw.items()]
            lines = [key_line(raw, k, line) for k in raw]
        else:
            items = raw if isinstance(raw, list) else [raw]
            lines = lines_of(raw, line) if isinstance(raw, list) else [line]
        variants: dict[str, Any] = {}
        taken: set[str] = set()
        for number, (item, item_line) in enumerate(zip(items, lines), start=1):
            for name, prompt in self._prompt(item, item_line, number):
                if self._check_template(prompt, item_line):
                    variants[unique(name, taken)] = prompt
        return variants

    def _prompt(self, item: Any, line: int, number: int) -> list[tuple[str, Any]]:
        label, source = None, item
        if isinstance(item, dict):
            label = item.get("label") or item.get("id") if "raw" in item else item.get("label")
            source = item.get("raw", item.get("id"))
        if not isinstance(source, str):
            self.todo(line, "a prompt that is not text or a file:// path is not imported", item)
            return []
        if not source.startswith("file://"):
            return [(slug(str(label or f"prompt-{number}"), f"prompt-{number}"), source)]
        ref = source.removeprefix("file://")
        if any(c in ref for c in "*?["):  # a glob: each file it matches, in name order
            matches = sorted(self.dir.glob(ref))
            if not matches:
                self.todo(line, f"prompt glob {ref!r} matches no file", item)
            return [p for m in matches for p in self._prompt(f"file://{m.relative_to(self.dir)}", line, number)]
        path = (self.dir / ref.partition(":")[0]).resolve()
        if path.suffix in (".js", ".ts", ".py", ".mjs", ".cjs"):
            self.todo(line, f"prompt function {ref!r} is code; render it yourself or write the prompt out", item)
            return []
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            self.todo(line, f"prompt file {ref!r} cannot be read ({exc.strerror})", item)
            return []
        stem = slug(str(label or path.stem), f"prompt-{number}")
        if path.suffix in (".json", ".yaml", ".yml"):
            chat = self._chat(text, path, line)
            return [(stem, chat)] if chat else []
        parts = [p.strip("\n") for p in text.split("\n---\n")] if path.suffix in _TEXT_PROMPTS else [text]
        if len(parts) == 1:
            return [(stem, parts[0])]
        return [(f"{stem}-{i}", part) for i, part in enumerate(parts, start=1)]

    def _chat(self, text: str, path: Path, line: int) -> list[dict[str, str]] | None:
        try:
            messages = json.loads(text) if path.suffix == ".json" else load_yaml(text, path)
        except (ValueError, SuiteError):
            self.todo(
                line, f"chat prompt {path.name!r} is not plain JSON/YAML before rendering (template outside strings)"
            )
            return None
        if not isinstance(messages, list) or not all(
            isinstance(m, dict)
            and m.get("role") in ("system", "user", "assistant")
            and isinstance(m.get("content"), str)
            for m in messages
        ):
            self.todo(line, f"chat prompt {path.name!r} is not a list of {{role, content}} text messages")
            return None
        return [{str(m["role"]): str(m["content"])} for m in messages]

    def _check_template(self, prompt: Any, line: int) -> bool:
        """Nunjucks and Jinja2 share `{{ var }}`, filters like `upper`, `{% if %}`, `{% for %}`; a prompt
        that Jinja2 cannot compile (a Nunjucks-only filter such as `dump`) is left out, as a TODO."""
        texts = [prompt] if isinstance(prompt, str) else [next(iter(m.values())) for m in prompt]
        for text in texts:
            try:
                self.used_vars.update(jinja2.meta.find_undeclared_variables(_JINJA.parse(text)))
                _JINJA.from_string(text)
            except jinja2.TemplateError as exc:
                fix = (
                    "write `| tojson` (Jinja2) for Nunjucks' `| dump`"
                    if "dump" in str(exc)
                    else "rewrite it for Jinja2"
                )
                why = str(exc).splitlines()[0].rstrip(".") if str(exc) else type(exc).__name__
                self.todo(line, f"prompt does not compile under Jinja2 ({why}); {fix}", text)
                return False
        return True

    # -- providers ---------------------------------------------------------------------------------
    def _models(self, doc: Any) -> list[str]:
        raw = doc.get("providers", doc.get("targets"))
        if raw is None:
            self.todo(1, "the config has no providers; define a model in [tool.promptcheck.model.NAME]")
            return []
        names = []
        for provider in read_providers(raw, key_line(doc, "providers", 1)):
            name = self.providers.add(provider)
            if name is not None and name not in names:
                names.append(name)
        return names

    # -- tests -------------------------------------------------------------------------------------
    def _default_test(self, doc: Any) -> dict[str, Any]:
        raw = doc.get("defaultTest")
        line = key_line(doc, "defaultTest", 1)
        if isinstance(raw, str) and raw.startswith("file://"):
            try:
                raw = _load((self.dir / raw.removeprefix("file://")).resolve())
            except ImportProblem as exc:
                self.todo(line, f"defaultTest: {exc}", raw)
                return {}
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.todo(line, "defaultTest is not a mapping", raw)
            return {}
        options = raw.get("options") or {}
        grader = options.get("provider") if isinstance(options, dict) else None
        if grader is not None:
            self.judge = self._grader(grader, key_line(raw, "options", line))
        out: dict[str, Any] = {"vars": self._vars(raw.get("vars"), line, self.path)}
        out["assert"] = self._asserts(raw.get("assert"), key_line(raw, "assert", line), self.path)
        threshold = raw.get("threshold")
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0 <= threshold <= 1:
            out["threshold"] = float(threshold)
        elif threshold is not None:
            self.todo(key_line(raw, "threshold", line), "defaultTest threshold is not a number from 0 to 1", threshold)
        self._unknown_test_keys(raw, line, self.path, {"vars", "assert", "options", "threshold", "metadata"})
        self._options(options, line, self.path, {"provider"})
        return out

    def _grader(self, grader: Any, line: int) -> str | None:
        found = read_providers(grader if isinstance(grader, (str, dict)) else str(grader), line)
        return self.providers.add(found[0]) if found else None

    def _tests(self, raw: Any, line: int, defaults: dict[str, Any]) -> list[dict[str, Any]]:
        cases: list[dict[str, Any]] = []
        items = raw if isinstance(raw, list) else [raw] if raw is not None else []
        for item, item_line in zip(items, lines_of(raw, line) if isinstance(raw, list) else [line]):
            if isinstance(item, str) and item.startswith("file://"):
                for test, path, test_line in self._test_file(item, item_line):
                    cases.extend(self._case(test, test_line, path, defaults))
            elif isinstance(item, dict):
                cases.extend(self._case(item, getattr(item, "line", item_line), self.path, defaults))
            else:
                self.todo(item_line, "a test that is not a mapping or a file:// path is not imported", item)
        if not cases:
            self.todo(line, "the config has no tests; a suite needs at least one case")
        return cases

    def _test_file(self, ref: str, line: int) -> list[tuple[Any, Path, int]]:
        if any(c in ref for c in "*?["):  # a glob: each file it matches, in name order
            matches = sorted(self.dir.glob(ref.removeprefix("file://")))
            if not matches:
                self.todo(line, f"tests glob {ref!r} matches no file")
            return [t for m in matches for t in self._test_file(f"file://{m.relative_to(self.dir)}", line)]
        path = (self.dir / ref.removeprefix("file://")).resolve()
        if path.suffix not in (".csv", ".json", ".jsonl", ".yaml", ".yml"):
            self.todo(line, f"tests file {path.name!r}: only CSV, JSON, JSONL and YAML tests are imported")
            return []
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            self.todo(line, f"tests file {ref!r} cannot be read ({exc.strerror})")
            return []
        if path.suffix == ".csv":
            return [(test, path, n) for n, test in csv_tests(text)]
        if path.suffix == ".jsonl":
            try:
                return [(json.loads(t), path, n) for n, t in enumerate(text.split("\n"), start=1) if t.strip()]
            except ValueError as exc:
                raise ImportProblem(f"{path}: not valid JSON lines ({exc})") from None
        data = _load(path)
        tests = data if isinstance(data, list) else [data]
        return [(t, path, getattr(t, "line", 1)) for t in tests]

    def _case(self, test: Any, line: int, path: Path, defaults: dict[str, Any]) -> list[dict[str, Any]]:
        if not isinstance(test, dict):
            self.todo(line, "a test that is not a mapping is not imported", test, path)
            return []
        known = {"description", "vars", "assert", "threshold", "metadata", "options", "providers"}
        self._unknown_test_keys(test, line, path, known)
        self._options(test.get("options") or {}, line, path, set())
        variables = {**defaults.get("vars", {}), **self._vars(test.get("vars"), line, path)}
        variables = {k: self._var(v, line, path) for k, v in variables.items()}
        base: dict[str, Any] = {}
        if test.get("description"):
            base["description"] = str(test["description"])
        asserts = self._asserts(test.get("assert"), key_line(test, "assert", line), path)
        threshold = test.get("threshold")
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0 <= threshold <= 1:
            base["threshold"] = float(threshold)
        elif threshold is not None:
            self.todo(key_line(test, "threshold", line), "threshold is not a number from 0 to 1", threshold, path)
        tags = self._tags(test.get("metadata"))
        if tags:
            base["tags"] = tags
        models = self._case_models(test.get("providers"), line, path)
        name = slug(str(test.get("description") or ""), "") or f"test-{len(self.case_ids) + 1}"
        cases = []
        for combo in expand(variables):
            case = {"id": unique(name, self.case_ids), **base, "vars": combo}
            if models:
                case["models"] = models
            if asserts:
                case["assert"] = asserts
            cases.append(case)
        return cases

    def _vars(self, raw: Any, line: int, path: Path) -> dict[str, Any]:
        """A test's vars: a mapping, or a file:// YAML/JSON file holding one."""
        if isinstance(raw, str) and raw.startswith("file://"):
            try:
                raw = _load((path.parent / raw.removeprefix("file://")).resolve())
            except ImportProblem as exc:
                self.todo(line, f"vars: {exc}", raw, path)
                return {}
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.todo(line, "vars is not a mapping of names to values", raw, path)
            return {}
        return {str(k): v for k, v in raw.items()}

    def _var(self, value: Any, line: int, path: Path) -> Any:
        if isinstance(value, str) and value.startswith("file://"):
            file = (path.parent / value.removeprefix("file://")).resolve()
            if file.suffix in (".txt", ".md", ".json", ".yaml", ".yml", ".csv", ""):
                try:
                    return file.read_text(encoding="utf-8")
                except OSError as exc:
                    self.todo(line, f"var file {value!r} cannot be read ({exc.strerror})", value, path)
            else:
                self.todo(line, f"var {value!r} is computed by code; set its value", value, path)
        if isinstance(value, list):
            return [self._var(v, line, path) for v in value]
        return value

    def _tags(self, metadata: Any) -> list[str]:
        if not isinstance(metadata, dict):
            return []
        tags = []
        for key, value in metadata.items():
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                tag = slug(f"{key}-{value}", "")
                if tag and tag not in tags:
                    tags.append(tag)
        return tags

    def _case_models(self, raw: Any, line: int, path: Path) -> list[str]:
        if not raw:
            return []
        names: list[str] = []
        for ref in raw if isinstance(raw, list) else [raw]:
            matched = [
                n
                for key, n in self.providers.names.items()
                if key == ref or (ref.endswith("*") and key.startswith(ref[:-1]))
            ]
            if not matched:
                self.todo(line, f"test providers filter {ref!r} matches no imported provider", ref, path)
            names.extend(n for n in matched if n not in names)
        return names

    def _unknown_test_keys(self, test: Any, line: int, path: Path, known: set[str]) -> None:
        for key in test:
            if key not in known:
                self.todo(key_line(test, key, line), f"test key {key!r} is not imported", test[key], path)

    def _options(self, options: Any, line: int, path: Path, handled: set[str]) -> None:
        for key in options if isinstance(options, dict) else []:
            if key not in handled:
                self.todo(key_line(options, key, line), f"test option {key!r} is not imported", options[key], path)
