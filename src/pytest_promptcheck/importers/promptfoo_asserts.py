"""promptfoo ``assert`` lists → our assert items (the table is :mod:`.mapping`); ``python`` assertions
through :mod:`.python_checks`; ``assert-set`` flattened. Each part that does not map is a TODO."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import SuiteError
from ..suites.yamlload import load_yaml
from .mapping import APPROXIMATED, UNSUPPORTED, map_assertion, with_modifiers
from .python_checks import MODULE as CHECKS
from .python_checks import BadCheck, ChecksModule
from .result import Imported
from .yaml_lines import key_line, lines_of


class AssertionsMixin:
    """The assertion half of the promptfoo importer; the importer provides these attributes."""

    out: Imported
    path: Path
    project_dir: Path
    judge: str | None
    models: list[str]
    checks: ChecksModule

    def todo(self, line: int, text: str, original: Any = None, path: Path | None = None) -> None:
        shown = "" if original is None else json.dumps(original, ensure_ascii=False, default=str)
        self.out.todo(path or self.path, line, text, shown)

    def _asserts(self, raw: Any, line: int, path: Path) -> list[Any]:
        """Our assert items: a bare name (``is_json``) or a ``{name: argument, modifiers...}`` mapping."""
        if not raw:
            return []
        if isinstance(raw, dict):  # one assertion written without its list
            raw = [raw]
        out: list[Any] = []
        for spec, spec_line in zip(raw, lines_of(raw, line)):
            spec_line = getattr(spec, "line", spec_line)
            if not isinstance(spec, dict):
                self.todo(spec_line, "an assertion that is not a mapping is not imported", spec, path)
                self.out.counts[UNSUPPORTED] += 1
                continue
            if spec.get("type") == "assert-set":
                out.extend(self._assert_set(spec, spec_line, path))
                continue
            if str(spec.get("type", "")).removeprefix("not-") == "python":
                out.extend(self._python(spec, spec_line, path))
                continue
            results = map_assertion(dict(spec), self.judge)
            self.out.counts[results[0].status] += 1  # one promptfoo assertion, however many of ours
            for mapped in results:
                if mapped.entry is None:
                    self.todo(spec_line, mapped.note, dict(spec), path)
                    continue
                if mapped.status == APPROXIMATED:
                    self.out.note(f"{spec.get('type')}: {mapped.note}")
                if "judge" in mapped.entry and "model" not in mapped.entry["judge"] and self.models:
                    mapped.entry["judge"]["model"] = self.models[0]  # promptfoo would default to an OpenAI grader
                    self.todo(
                        spec_line, f"no grader given (defaultTest.options.provider): graded by {self.models[0]!r}"
                    )
                entry = mapped.entry
                if isinstance(entry.get("json_schema"), str) and not self._inline_schema(entry, spec_line, path):
                    continue
                out.append(next(iter(entry)) if len(entry) == 1 and next(iter(entry.values())) is None else entry)
        return out

    def _inline_schema(self, entry: dict[str, Any], line: int, path: Path) -> bool:
        """A ``file://`` schema is read into the suite: its path was relative to the config, not the suite."""
        file = (path.parent / entry["json_schema"]).resolve()
        try:
            text = file.read_text(encoding="utf-8")
            schema = json.loads(text) if file.suffix == ".json" else load_yaml(text, file)
        except (OSError, ValueError, SuiteError) as exc:
            self.todo(line, f"schema file {entry['json_schema']!r} cannot be read ({exc})", path=path)
            return False
        entry["json_schema"] = schema
        return True

    def _python(self, spec: Any, line: int, path: Path) -> list[Any]:
        """A python assertion: inline code or ``file://checks.py[:function]``, via promptfoo_checks.py."""
        value = spec.get("value")
        try:
            if isinstance(value, str) and value.startswith("file://"):
                file, _, function = value.removeprefix("file://").partition(":")
                relative = Path(os.path.relpath((path.parent / file).resolve(), self.project_dir)).as_posix()
                name = self.checks.file(relative, function or "get_assert")
            elif isinstance(value, str) and value.strip():
                name = self.checks.inline(value)
            else:
                raise BadCheck("needs Python code or a file:// path as its value")
        except BadCheck as exc:
            self.todo(line, f"python assertion: {exc}", dict(spec), path)
            self.out.counts[UNSUPPORTED] += 1
            return []
        if spec.get("threshold") is not None:
            self.todo(line, f"python assertion threshold {spec['threshold']} is not kept (the check's pass decides)")
        self.out.files[CHECKS] = self.checks.text()
        self.out.counts[APPROXIMATED] += 1
        self.out.note("python assertions run through promptfoo_checks.py (context holds vars and prompt)")
        return [with_modifiers({"python": f"{CHECKS.removesuffix('.py')}:{name}"}, dict(spec))]

    def _assert_set(self, spec: Any, line: int, path: Path) -> list[Any]:
        inner = self._asserts(spec.get("assert"), key_line(spec, "assert", line), path)
        weight = float(spec.get("weight", 1) or 1)
        if spec.get("threshold") is not None:
            self.todo(line, f"assert-set threshold {spec['threshold']} is not kept: each of its assertions must pass")
            self.out.counts[APPROXIMATED] += 1
        if weight == 1:
            return inner
        entries: list[dict[str, Any]] = [{item: None} if isinstance(item, str) else item for item in inner]
        for entry in entries:  # the set's weight shared among its members
            entry["weight"] = entry.get("weight", 1.0) * weight / max(len(entries), 1)
        return entries
