"""Loading a suite file: YAML → schema check → defaults merge → cases_from → rendered prompts.

Everything here depends only on the suite file and the files it references, so the result can be
cached by content hash (see :mod:`.parse_cache`). Checks that depend on plugins (assertion names, models)
happen in the collector.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

from ..errors import SuiteError, SuiteProblem
from .files import SuiteFileError, read_suite_file
from .limits import SuitePolicy, planned_calls_message
from .model import AssertionSpec, Case, LoadedSuite, MessageTemplate, PromptVariant, RepeatSpec, Suite, bindings
from .render import Messages, PromptRenderer, RenderError
from .rows import csv_rows, jsonl_rows
from .tools import ToolReader
from .turns import Turn, check_tool_names, parse_turns, rendered_users
from .validate import validate_document
from .variants import VariantReader, message_templates
from .yamlload import LineDict, LineList, line_of, load_yaml

MODIFIERS = ("weight", "not", "message")
# Tags become markers; these names already mean something to pytest itself.
RESERVED_MARKERS = frozenset(
    {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings", "tryfirst", "trylast"}
)
_CASE_ROW_KEYS = ("id", "vars", "ideal", "tags", "assert", "models", "params", "repeat", "threshold", "description")


def load_suite(path: Path, policy: SuitePolicy | None = None) -> LoadedSuite:
    """Load and validate one suite file; raise :class:`SuiteError` listing every problem found.

    ``policy`` says where the suite may read files and its limits; without one (the CLI), the
    suite's project folder (:meth:`SuitePolicy.nearest`) with the default limits.
    """
    return _SuiteLoader(path, policy or SuitePolicy.nearest(path)).load()


class _SuiteLoader:
    def __init__(self, path: Path, policy: SuitePolicy) -> None:
        self.path = path
        self.dir = path.parent
        self.policy = policy
        self.problems: list[SuiteProblem] = []
        self.dependencies: dict[Path, bytes] = {}
        self.renderer = PromptRenderer(self.dir, policy)
        self.doc = LineDict(0)
        self.tools = ToolReader(self.dir, policy, self._tool_problem, self._read_dependency)
        self.variants = VariantReader(self.dir, policy, self.problem, self._read_dependency)
        self._case_now: tuple[str, Path | None] | None = None  # the case whose tools are read

    def problem(self, line: int, message: str, case: str | None = None, path: Path | None = None) -> None:
        self.problems.append(SuiteProblem(path or self.path, line, message, case))

    def _fail_if_problems(self) -> None:
        if self.problems:
            raise SuiteError(self.problems)

    def load(self) -> LoadedSuite:
        try:  # the suite itself may lie wherever pytest was pointed; its size is capped all the same
            data = read_suite_file(
                self.path, self.policy, what="suite", ref=self.path.name, key="suite_bytes", anywhere=True
            )
        except SuiteFileError as exc:
            raise SuiteError.at(self.path, 0, str(exc)) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise SuiteError.at(
                self.path, line, f"the suite is not UTF-8 text ({exc.reason}); save it as UTF-8"
            ) from None
        doc = load_yaml(text, self.path, self.policy.limits)
        if not isinstance(doc, LineDict):
            raise SuiteError.at(self.path, getattr(doc, "line", 1), _not_a_mapping(doc))
        self.problems.extend(validate_document(doc, self.path))
        self._fail_if_problems()
        self.doc = doc
        variants = self.variants.read(doc)
        self._fail_if_problems()
        defaults = doc.get("defaults", LineDict(0))
        self._check_tags(defaults.get("tags"), None)
        cases = [self._case(raw, defaults) for raw in doc.get("cases", [])]
        for ref, ref_line in self._cases_from_refs(doc):
            cases.extend(self._cases_from(ref, ref_line, defaults))
        if not variants:
            variants = self._rows_variant(doc, cases)
        self._check_unique(cases)
        self._check_fan_out(cases, len(variants))
        if not cases and not self.problems:
            self.problem(doc.line, "the suite has no cases; add a `cases:` list or `cases_from:`")
        self._fail_if_problems()
        rendered = self._render_all(variants, cases)
        turn_texts = self._render_turns(cases)
        self._fail_if_problems()
        digest = hashlib.sha256(data)
        for dep in sorted(self.dependencies):
            digest.update(str(dep).encode() + b"\0" + self.dependencies[dep])
        for dep in sorted(self.renderer.included):
            digest.update(str(dep).encode() + b"\0" + self.renderer.included[dep])
        suite = Suite(
            path=self.path,
            description=doc.get("description"),
            variants=tuple(variants),
            cases=tuple(cases),
            metrics=dict(doc.get("metrics", {})),
            digest=digest.hexdigest(),
            dependencies=tuple(sorted(set(self.dependencies) | set(self.renderer.included))),
        )
        return LoadedSuite(suite, rendered, turn_texts)

    def _rows_variant(self, doc: LineDict, cases: list[Case]) -> list[PromptVariant]:
        """A suite without prompts is valid when every case brings its own ``messages`` (cases_from rows)."""
        if cases and all(case.messages for case in cases):
            return [PromptVariant("messages", (), doc.line)]
        if not self.problems:
            self.problem(doc.line, "the suite has no prompts; add `prompts:` (name: template) or `prompts_from:`")
        self._fail_if_problems()
        return []

    def _read_dependency(self, file: Path, line: int, what: str, ref: str | None = None) -> bytes | None:
        try:
            data = read_suite_file(file, self.policy, what=what, ref=ref if ref is not None else str(file))
        except SuiteFileError as exc:
            self.problem(line, str(exc))
            return None
        self.dependencies[file] = data
        return data

    # -- cases -----------------------------------------------------------------------------------
    def _case(self, raw: LineDict, defaults: LineDict, source: Path | None = None) -> Case:
        merged: dict[str, Any] = {k: v for k, v in defaults.items() if k not in ("assert", "tags", "params")}
        merged.update(raw)
        assert_items = [
            *zip(defaults.get("assert", []), _item_lines(defaults.get("assert"))),
            *zip(raw.get("assert", []), _item_lines(raw.get("assert"))),
        ]
        tags = list(dict.fromkeys([*defaults.get("tags", []), *raw.get("tags", [])]))
        params = {**defaults.get("params", {}), **raw.get("params", {})}
        case_id = str(raw["id"])
        self._check_tags(raw.get("tags"), case_id, source)
        repeat = merged.get("repeat", 1)
        models = merged.get("models")
        models_line = (raw if "models" in raw else defaults).key_lines.get("models", 0) if models else 0
        self._case_now = (case_id, source)
        toolset = self.tools.resolve(raw, defaults, self.doc)
        return Case(
            id=case_id,
            line=raw.line,
            vars=dict(merged.get("vars", {})),
            tags=tuple(tags),
            models=tuple(models) if models else None,
            models_line=models_line if source is None else raw.line,
            params=params,
            assertions=tuple(self._assertion(item, line, case_id) for item, line in assert_items),
            ideal=merged.get("ideal"),
            repeat=RepeatSpec(repeat) if isinstance(repeat, int) else RepeatSpec(repeat["n"], repeat.get("min_pass")),
            counterfactual={k: tuple(v) for k, v in merged.get("counterfactual", {}).items()},
            threshold=merged.get("threshold"),
            description=merged.get("description"),
            source=source,
            messages=message_templates(raw["messages"]) if "messages" in raw else None,
            tools=toolset.tools,
            tool_choice=toolset.tool_choice,
            turns=self._turns(raw, case_id, source, [str(t.get("name")) for t in toolset.tools]),
            ideal_tool_call=dict(raw["ideal_tool_call"]) if "ideal_tool_call" in raw else None,
        )

    def _turns(self, raw: LineDict, case_id: str, source: Path | None, tools: list[str]) -> tuple[Turn, ...]:
        def problem(line: int, message: str) -> None:
            self.problem(line, message, case_id, path=source)

        def assertion(item: Any, line: int) -> AssertionSpec:
            return self._assertion(item, line, case_id)

        turns = parse_turns(raw.get("turns"), _item_lines(raw.get("turns")), assertion, problem,
                            limit=self.policy.limits.turns)  # fmt: skip
        check_tool_names(turns, tools, problem)
        return turns

    def _render_turns(self, cases: list[Case]) -> dict[str, tuple[tuple[str | None, ...], ...]]:
        """Each multi-turn case's user turns rendered with its vars, per counterfactual binding."""
        out = {}
        for case in (c for c in cases if c.turns):
            users = tuple(MessageTemplate("user", t.user) for t in case.turns if t.user is not None)
            variant = PromptVariant(f"{case.id} turns", users, case.line)
            try:
                out[case.id] = tuple(
                    rendered_users(case.turns, self.renderer.render(variant, case.vars, b)) for b in bindings(case)
                )
            except RenderError as exc:
                fix = "; define it in the case's `vars` (or `defaults.vars`)" if exc.undefined else ""
                self.problem(case.line, f"turns: {exc}{fix}", case.id, path=case.source)
        return out

    def _tool_problem(self, line: int, message: str, path: Path | None, own: bool) -> None:
        case = self._case_now[0] if self._case_now and own else None  # a suite-level mistake is no case's
        self.problem(line, message, case, path=path)  # None: the suite file (rows carry no tools)

    def _check_tags(self, tags: Any, case_id: str | None, path: Path | None = None) -> None:
        for tag, line in zip(tags or [], _item_lines(tags)):
            if tag in RESERVED_MARKERS:
                message = f"tag {tag!r} collides with pytest's own `{tag}` marker (tags become markers); rename the tag"
                self.problem(line, message, case_id, path=path)

    def _assertion(self, item: Any, line: int, case_id: str) -> AssertionSpec:
        if isinstance(item, str):
            return AssertionSpec(item, None, line)
        names = [k for k in item if k not in MODIFIERS]
        if len(names) != 1:
            what = "no assertion name" if not names else f"several assertion names ({', '.join(map(repr, names))})"
            self.problem(line, f"assertion has {what}; write one `name: argument` per list item", case_id)
            return AssertionSpec("<invalid>", None, line)
        return AssertionSpec(
            names[0],
            item[names[0]],
            line,
            weight=float(item.get("weight", 1.0)),
            negate=bool(item.get("not", False)),
            message=item.get("message"),
        )

    def _cases_from_refs(self, doc: LineDict) -> list[tuple[str, int]]:
        refs = doc.get("cases_from")
        if refs is None:
            return []
        line = doc.key_lines["cases_from"]
        if isinstance(refs, str):
            return [(refs, line)]
        return list(zip(refs, _item_lines(refs)))

    def _cases_from(self, ref: str, line: int, defaults: LineDict) -> list[Case]:
        file = (self.dir / ref).resolve()
        data = self._read_dependency(file, line, "cases_from: file", ref)
        if data is None:
            return []
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")  # a byte order mark may start the file
        except UnicodeDecodeError as exc:
            bad_line = data[: exc.start].count(b"\n") + 1
            self.problem(bad_line, f"not UTF-8 text ({exc.reason}); save it as UTF-8", path=file)
            return []
        read = {".jsonl": jsonl_rows, ".csv": csv_rows}.get(file.suffix)
        if read is None:
            self.problem(line, f"cases_from: {ref!r} must be a .jsonl file (one JSON object per line) or a .csv file")
            return []
        rows, unreadable = read(text, self.policy.limits.depth)
        for bad_line, message in unreadable:
            self.problem(bad_line, message, path=file)
        cases = []
        for row_line, row in rows:
            problems = validate_document(row, file, subschema="row")
            if problems:
                for p in problems:
                    self.problem(row_line, p.message, path=file)
                continue
            cases.append(self._case(row, defaults, source=file))
        return cases

    def _check_unique(self, cases: list[Case]) -> None:
        seen: dict[str, Case] = {}
        for case in cases:
            first = seen.get(case.id)
            if first is not None:
                where = f"{first.source}:{first.line}" if first.source else f"line {first.line}"
                self.problem(
                    case.line,
                    f"duplicate case id {case.id!r} (first used at {where}); ids must be unique",
                    case.id,
                    path=case.source,
                )
            else:
                seen[case.id] = case

    def _check_fan_out(self, cases: list[Case], variants: int) -> None:
        """Each case's repeat and counterfactual values, and the prompts the suite renders, within limits.

        Checked before rendering: 20 swapped vars of 10 values each are 10**20 prompts. Each rendered
        prompt is at least one call, so ``limits.calls`` bounds them here already; the collector checks
        the calls themselves once the models (and ``--pc-repeat``) are known.
        """
        limits = self.policy.limits
        prompts = 0
        for case in cases:
            if case.repeat.n > limits.repeat:
                message = f"repeat {case.repeat.n} is more than {limits.repeat} samples (limits.repeat)"
                self.problem(
                    case.line,
                    f"{message}; use fewer or raise [tool.promptcheck.limits] repeat",
                    case.id,
                    path=case.source,
                )
            swaps = math.prod(len(values) for values in case.counterfactual.values())
            if swaps > limits.counterfactual:
                counts = " x ".join(str(len(values)) for values in case.counterfactual.values())
                message = f"counterfactual values make {counts} = {swaps} prompts, more than {limits.counterfactual}"
                fix = "swap fewer values or raise [tool.promptcheck.limits] counterfactual"
                self.problem(case.line, f"{message} (limits.counterfactual); {fix}", case.id, path=case.source)
                continue
            prompts += variants * swaps
            if prompts > limits.calls:
                message = planned_calls_message(limits.calls, "cases x prompt variants x counterfactual values")
                self.problem(case.line, message, case.id, path=case.source)
                return

    def _render_all(
        self, variants: list[PromptVariant], cases: list[Case]
    ) -> dict[tuple[str, str], tuple[Messages, ...]]:
        rendered = {}
        broken: set[str] = set()  # variants whose template itself is wrong: reported once, at the prompt
        for case in cases:
            case_bindings = bindings(case)
            for variant in variants:
                if case.messages:  # a row's own messages: literal text, the same under every variant
                    own = tuple({"role": m.role, "content": m.content} for m in case.messages)
                    rendered[(case.id, variant.name)] = tuple(own for _ in case_bindings)
                    continue
                if variant.name in broken:
                    continue
                try:
                    rendered[(case.id, variant.name)] = tuple(
                        self.renderer.render(variant, case.vars, b) for b in case_bindings
                    )
                except RenderError as exc:
                    if exc.in_template:
                        broken.add(variant.name)
                        self.problem(variant.line, f"prompt {variant.name!r}: {exc}")
                        continue
                    fix = "; define it in the case's `vars` (or `defaults.vars`)" if exc.undefined else ""
                    self.problem(
                        case.line,
                        f"prompt {variant.name!r} (line {variant.line}): {exc}{fix}",
                        case.id,
                        path=case.source,
                    )
                    break  # one missing variable per case is enough to act on
        return rendered


def _not_a_mapping(doc: Any) -> str:
    what = "empty" if doc is None else "a list" if isinstance(doc, list) else f"a single value ({doc!r:.40})"
    fix = " (put `cases:` above the list)" if isinstance(doc, list) else ""
    return f"the suite is {what}; a suite is a mapping with `prompts:` and `cases:`{fix}"


def _item_lines(seq: Any) -> list[int]:
    return seq.item_lines if isinstance(seq, LineList) else [getattr(seq, "line", 0)] * len(seq or [])


__all__ = ["MODIFIERS", "RESERVED_MARKERS", "LoadedSuite", "bindings", "line_of", "load_suite"]
