"""A suite's tools: ``tools:`` / ``tools_from:`` and ``tool_choice:``, at the suite level or per case.

Tools are OpenAI's flat function form (``name``, ``description``, ``parameters``); each provider
translates them to its wire. Checked here, at load, so a broken tool is a ``file:line`` problem
and not a 400 from an API in the middle of a run: names unique and what the APIs accept
(``^[A-Za-z0-9_-]{1,64}$``), ``parameters`` a JSON Schema (checked against its meta-schema) of
``type: object``, no more than ``limits.tools`` of them, a named ``tool_choice`` naming one of
them. ``tools_from`` is a YAML or JSON list read through :func:`.files.read_suite_file` like every
file a suite names (under the project's roots, a regular file, capped).

Precedence, per key: the case's own value, else ``defaults``, else the suite's top level; a case's
``tools``/``tools_from`` replaces the suite's list (it is not merged into it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..textutil import outside_refs, plain
from .limits import SuitePolicy
from .yamlload import LineDict, LineList, load_yaml

TOOL_KEYS = ("tools", "tools_from", "tool_choice")
CHOICES = ("auto", "required", "none")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TOOL_FIELDS = ("name", "description", "parameters")
_EXAMPLE = "e.g. `- {name: get_weather, parameters: {type: object, properties: {city: {type: string}}}}`"

# (line, message, file or None for the suite, whether the case itself wrote the key or inherited it)
Problem = Callable[[int, str, "Path | None", bool], None]


@dataclass(frozen=True)
class ToolSet:
    """The tools and choice a case sends; ``()`` and None when it sends none."""

    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: Any = None


class ToolReader:
    """Reads and checks tool lists for one suite; each ``tools_from`` file is read once."""

    def __init__(
        self, suite_dir: Path, policy: SuitePolicy, problem: Problem, read: Callable[..., bytes | None]
    ) -> None:
        self.dir = suite_dir
        self.policy = policy
        self._report = problem
        self.read = read  # the loader's dependency reader: (file, line, what, ref) -> bytes | None
        self._files: dict[Path, tuple[dict[str, Any], ...] | None] = {}
        self._lists: dict[int, tuple[dict[str, Any], ...]] = {}  # by node: a suite-level list is checked once
        self._reported: set[tuple[int, str, Path | None]] = set()
        self._own = False  # whether the layer being read is the case's own

    def problem(self, line: int, message: str, path: Path | None) -> None:
        """Report once: a suite-level mistake is the same mistake for every case that inherits it."""
        if (line, message, path) not in self._reported:
            self._reported.add((line, message, path))
            self._report(line, message, path, self._own)

    def resolve(self, *layers: LineDict | None) -> ToolSet:
        """The tool set of the first layer (case, defaults, suite) that sets each key."""
        tools: tuple[dict[str, Any], ...] = ()
        tools_line = 0
        for layer in layers:
            if layer is None:
                continue
            self._own = layer is layers[0]
            if "tools" in layer and "tools_from" in layer:
                self.problem(layer.key_lines["tools_from"], "set `tools:` or `tools_from:`, not both", None)
            if "tools" in layer:
                raw = layer["tools"]
                if id(raw) not in self._lists:
                    self._lists[id(raw)] = self._inline(raw, None)
                tools, tools_line = self._lists[id(raw)], layer.key_lines["tools"]
                break
            if "tools_from" in layer:
                line = layer.key_lines["tools_from"]
                tools, tools_line = self._from_file(str(layer["tools_from"]), line) or (), line
                break
        choice, choice_line = None, 0
        for layer in layers:
            if layer is not None and "tool_choice" in layer:
                choice, choice_line = plain(layer["tool_choice"]), layer.key_lines["tool_choice"]
                self._own = layer is layers[0]
                break
        if choice is not None:
            self._check_choice(choice, choice_line, tools, tools_line)
        return ToolSet(tools, choice)

    def _inline(self, raw: Any, path: Path | None) -> tuple[dict[str, Any], ...]:
        if not isinstance(raw, list):
            line = getattr(raw, "line", 0)
            self.problem(line, f"tools must be a list of tool definitions, got {type(raw).__name__}; {_EXAMPLE}", path)
            return ()
        lines = raw.item_lines if isinstance(raw, LineList) else [getattr(raw, "line", 0)] * len(raw)
        limit = self.policy.limits.tools
        if len(raw) > limit:
            self.problem(getattr(raw, "line", 0), f"{len(raw)} tools is more than {limit} (limits.tools); "
                         "send fewer or raise [tool.promptcheck.limits] tools", path)  # fmt: skip
            return ()
        checked: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for tool, line in zip(raw, lines):
            found = self._tool(tool, line, path)
            if found is None:
                continue
            if found["name"] in seen:
                self.problem(line, f"tool {found['name']!r} is defined twice (first at line {seen[found['name']]}); "
                             "tool names must be unique", path)  # fmt: skip
                continue
            seen[found["name"]] = line
            checked.append(found)
        return tuple(checked)

    def _tool(self, tool: Any, line: int, path: Path | None) -> dict[str, Any] | None:
        if not isinstance(tool, dict):
            self.problem(
                line, f"a tool must be a mapping with `name` and `parameters`, got {tool!r:.60}; {_EXAMPLE}", path
            )
            return None
        unknown = [k for k in tool if k not in _TOOL_FIELDS]
        if unknown:
            hint = " (the flat form: no `type: function` wrapper)" if "type" in unknown or "function" in unknown else ""
            self.problem(line, f"tool has unknown key {', '.join(map(repr, unknown))}{hint}; "
                         f"valid: {', '.join(_TOOL_FIELDS)}", path)  # fmt: skip
            return None
        name = tool.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            self.problem(line, f"tool name {name!r} must be 1-64 letters, digits, _ or - (what the APIs accept); "
                         f"{_EXAMPLE}", path)  # fmt: skip
            return None
        if "description" in tool and not isinstance(tool["description"], str):
            self.problem(line, f"tool {name!r}: description must be text, got {tool['description']!r:.60}", path)
            return None
        params = plain(tool.get("parameters", {"type": "object", "properties": {}}))
        why = _schema_problem(params)
        if why is not None:
            at = getattr(tool.get("parameters"), "line", line) or line
            self.problem(at, f"tool {name!r}: parameters {why}; {_EXAMPLE}", path)
            return None
        out: dict[str, Any] = {"name": name}
        if "description" in tool:
            out["description"] = tool["description"]
        out["parameters"] = params
        return out

    def _from_file(self, ref: str, line: int) -> tuple[dict[str, Any], ...] | None:
        file = (self.dir / ref).resolve()
        if file in self._files:
            return self._files[file]
        self._files[file] = None
        data = self.read(file, line, "tools_from: file", ref)
        if data is None:
            return None
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            self.problem(data[: exc.start].count(b"\n") + 1, f"not UTF-8 text ({exc.reason}); save it as UTF-8", file)
            return None
        from ..errors import SuiteError

        try:  # JSON is YAML 1.2: one reader, with the suite's alias, node and depth limits
            doc = load_yaml(text, file, self.policy.limits)
        except SuiteError as exc:
            for p in exc.problems:
                self.problem(p.line, p.message, file)
            return None
        if not isinstance(doc, list):
            self.problem(getattr(doc, "line", 1), "a tools_from file holds a list of tool definitions "
                         f"(YAML or JSON); {_EXAMPLE}", file)  # fmt: skip
            return None
        self._files[file] = self._inline(doc, file)
        return self._files[file]

    def _check_choice(self, choice: Any, line: int, tools: tuple[dict[str, Any], ...], tools_line: int) -> None:
        names = [t["name"] for t in tools]
        if isinstance(choice, dict):
            if set(choice) != {"name"} or not isinstance(choice["name"], str):
                self.problem(line, f"tool_choice {choice!r} must be auto, required, none or {{name: TOOL}}", None)
            elif choice["name"] not in names:
                listed = ", ".join(names) or "none are declared"
                self.problem(line, f"tool_choice names tool {choice['name']!r}, which is not declared "
                             f"(tools: {listed}); add it under `tools:` or name a declared one", None)  # fmt: skip
        elif choice not in CHOICES:
            self.problem(line, f"tool_choice {choice!r} must be auto, required, none or {{name: TOOL}}", None)
        elif not tools and not tools_line:
            self.problem(line, "tool_choice is set but no tools are declared; add `tools:` or `tools_from:`", None)


def _schema_problem(params: Any) -> str | None:
    """Why ``params`` is not a usable function parameter schema, or None."""
    import jsonschema

    if not isinstance(params, dict):
        return f"must be a JSON Schema mapping, got {params!r:.60}"
    if params.get("type") != "object":
        return (
            f"must be a schema of `type: object` (the arguments are one JSON object), got type {params.get('type')!r}"
        )
    outside = next(outside_refs(params), None)
    if outside is not None:
        return f"refer to {outside!r}; a tool's schema must be self-contained (refs inside it, `#/...`, only)"
    try:
        jsonschema.Draft202012Validator.check_schema(params)
    except jsonschema.SchemaError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path) or " (top level)"
        return (
            f"is not a valid JSON Schema at{where if where.startswith(' ') else ' ' + where.lstrip('.')}: {exc.message}"
        )
    return None


__all__ = ["CHOICES", "TOOL_KEYS", "ToolReader", "ToolSet"]
