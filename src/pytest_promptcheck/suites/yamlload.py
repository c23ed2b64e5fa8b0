"""The one YAML loader of the project: YAML 1.2 core schema, with a line number for every node.

Why not ruamel.yaml's round-trip loader here: it is pure Python and takes ~13 s for a 10,000-case
file on a 2-core CI machine; libyaml (through PyYAML's C parser) composes the same file in about a
second. ruamel.yaml stays the tool for *editing* suites (``promptcheck add``), where comments and
key order must survive. Both agree on YAML 1.2 scalars: ``no``, ``on``, ``yes`` stay strings, and
``012`` is the integer 12.

Mappings load as :class:`LineDict`, sequences as :class:`LineList`; both remember the 1-based line
of themselves and of each key / item, so every validation error can point at ``file:line``. Keys
are always text (a suite is JSON-shaped data), and :func:`load_yaml` bounds what a document may
expand to (:class:`~.limits.SuiteLimits`: aliases, values, depth).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import SuiteError
from .limits import SuiteLimits

try:  # libyaml is in PyYAML's wheels; the pure-Python parser is the (slow) fallback
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


_PLAIN = "?plain"  # tag given to untagged plain scalars; resolved below by the 1.2 core schema
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_INT = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_NULLS = frozenset(["", "~", "null", "Null", "NULL"])
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_SPECIAL_FLOATS = {
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}  # fmt: skip


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping that remembers its own line and the line of each key (1-based)."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class LineList(list):  # type: ignore[type-arg]
    """A sequence that remembers its own line and the line of each item (1-based)."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


class _Loader(_Parser):  # type: ignore[misc, valid-type]
    """libyaml's composer with a resolver that defers plain scalars to the 1.2 core schema."""

    def __init__(self, text: str) -> None:
        _Parser.__init__(self, text)

    def descend_resolver(self, *args: Any) -> None:
        pass

    def ascend_resolver(self, *args: Any) -> None:
        pass

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        # Compare node kinds by their ``id``, not by class: libyaml's C module keeps the node classes
        # of its first import, which differ from ``yaml.ScalarNode`` after a module reload (pytester).
        if kind.id == "scalar":  # type: ignore[attr-defined]
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind.id == "sequence" else _MAP  # type: ignore[attr-defined]


def _plain_scalar(value: str) -> Any:
    if value in _NULLS:
        return None
    first = value[0]
    if first.isalpha() and first not in "tTfFnN":
        return value  # fast path: most plain scalars in a suite are words
    if value in _BOOLS:
        return _BOOLS[value]
    if _INT.match(value):
        return int(value)
    if value.startswith("0o") and re.fullmatch(r"0o[0-7]+", value):
        return int(value[2:], 8)
    if value.startswith("0x") and re.fullmatch(r"0x[0-9a-fA-F]+", value):
        return int(value[2:], 16)
    if _FLOAT.match(value):
        return float(value)
    return _SPECIAL_FLOATS.get(value, value)


class _Builder:
    """Turns composed nodes into LineDict/LineList/scalars, rejecting duplicate keys and odd tags.

    ``depth`` bounds the nesting (after aliases, which build their node again): the builder recurses
    once per level, so the limit also keeps it far from Python's recursion limit.
    """

    def __init__(self, path: Path, depth: int) -> None:
        self.path = path
        self.depth = depth

    def build(self, node: yaml.Node, level: int = 0, owner: str | None = None) -> Any:
        """The value of ``node``; ``owner`` is the key it is the value of (names its keys in errors)."""
        line = node.start_mark.line + 1
        if node.id == "scalar":
            return self._scalar(node, line)
        if node.tag not in (_SEQ, _MAP, "!"):
            raise SuiteError.at(self.path, line, _bad_tag(node.tag))
        if level >= self.depth:
            raise SuiteError.at(self.path, line, _too_deep(self.depth))
        if node.id == "sequence":
            seq = LineList(line)
            for item in node.value:
                seq.append(self.build(item, level + 1))
                seq.item_lines.append(item.start_mark.line + 1)
            return seq
        return self._mapping(node, line, level, owner)

    def _scalar(self, node: yaml.ScalarNode, line: int) -> Any:
        tag = node.tag
        if tag == _PLAIN:
            return _plain_scalar(node.value)
        if tag in (_STR, "!"):
            return node.value
        raise SuiteError.at(self.path, line, _bad_tag(tag))

    def _mapping(self, node: yaml.MappingNode, line: int, level: int, owner: str | None) -> LineDict:
        mapping = LineDict(line)
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge" or (
                key_node.id == "scalar" and key_node.value == "<<" and key_node.tag == _PLAIN
            ):
                raise SuiteError.at(
                    self.path, key_line, "YAML merge keys ('<<') are not part of YAML 1.2; use `defaults:`"
                )
            key = self.build(key_node, level + 1)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                hint = (
                    'a value that starts with `{{` must be quoted: p: "{{ var }} ..."'
                    if key_node.id == "mapping" and key_node.flow_style
                    else "use a plain word or quoted text as the key"
                )
                raise SuiteError.at(self.path, key_line, f"mapping keys must be plain scalars; {hint}")
            if not isinstance(key, str):
                raise SuiteError.at(self.path, key_line, _not_text_key(key, key_node.value, owner))
            if key in mapping:
                first = mapping.key_lines[key]
                raise SuiteError.at(self.path, key_line, f"duplicate key {key!r} (first set on line {first}); keep one")
            mapping[key] = self.build(value_node, level + 1, key)
            mapping.key_lines[key] = key_line
        return mapping


def load_yaml(text: str, path: Path, limits: SuiteLimits | None = None) -> Any:
    """Parse one YAML document; raise :class:`SuiteError` with file:line on any syntax problem.

    ``limits`` bound what the document may expand to (``yaml_aliases``, ``yaml_nodes``, ``depth``;
    the defaults when None): a suite is untrusted input, and a few lines of aliases can stand for
    billions of values.
    """
    limits = limits or SuiteLimits()
    loader = _Loader(text)
    try:
        if "&" in text:  # no anchor, no alias: the common case skips the extra pass
            events = _Loader(text)
            try:
                _check_aliases(events, path, limits)
            finally:
                getattr(events, "dispose", lambda: None)()
        node = loader.get_single_node()
    except Exception as exc:
        # Match PyYAML's errors by module, not class: libyaml's C module raises the classes of its
        # first import, which differ from ``yaml.YAMLError`` once the module is reloaded (pytester).
        if not type(exc).__module__.startswith("yaml"):
            raise
        if getattr(exc, "problem_mark", None) is not None or getattr(exc, "context_mark", None) is not None:
            line, message = _syntax_problem(exc)  # type: ignore[arg-type]
            raise SuiteError.at(path, line, f"invalid YAML: {message}") from None
        raise SuiteError.at(path, 0, f"invalid YAML: {exc}") from None
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()
    if node is None:
        return None
    return _Builder(path, limits.depth).build(node)


def _check_aliases(events: Any, path: Path, limits: SuiteLimits) -> None:
    """Count alias uses and the values their expansion produces, from the parser's events.

    This reads the event stream, where an alias is one event however big the node it names, so a
    "billion laughs" document is refused after a few hundred events and before anything (the
    builder) expands it. An anchored node's size counts the aliases inside it, expanded. A syntax
    error raises PyYAML's error, reported by :func:`load_yaml` like the composer's.
    """
    sizes: dict[str, int] = {}  # anchor -> values its node expands to
    open_nodes: list[list[Any]] = []  # [anchor, size] of each collection still open
    uses = expanded = 0
    while True:
        event = events.get_event()
        kind = type(event).__name__  # by name: libyaml keeps the event classes of its first import
        if kind == "StreamEndEvent":
            return
        if kind == "AliasEvent":
            uses += 1
            size = sizes.get(event.anchor, 0)
            expanded += size
            line = event.start_mark.line + 1
            if uses > limits.yaml_aliases:
                lead = f"YAML aliases are used more than {limits.yaml_aliases} times"
                raise SuiteError.at(path, line, _alias_limit(lead, "yaml_aliases"))
            if expanded > limits.yaml_nodes:
                lead = f"YAML aliases expand to more than {limits.yaml_nodes} values"
                raise SuiteError.at(path, line, _alias_limit(lead, "yaml_nodes"))
        elif kind in ("SequenceStartEvent", "MappingStartEvent"):
            open_nodes.append([event.anchor, 1])
            continue
        elif kind in ("SequenceEndEvent", "MappingEndEvent"):
            anchor, size = open_nodes.pop()
            if anchor is not None:
                sizes[anchor] = size
        elif kind == "ScalarEvent":
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        else:
            continue
        if open_nodes:
            open_nodes[-1][1] += size


def _alias_limit(lead: str, key: str) -> str:
    return f"{lead} (limits.{key}); a suite holds no alias bombs — write the values out or raise [tool.promptcheck.limits] {key}"


def _too_deep(depth: int) -> str:
    return (
        f"the suite nests mappings and lists more than {depth} levels deep (limits.depth); flatten it "
        f"or raise [tool.promptcheck.limits] depth"
    )


def _not_text_key(key: Any, raw: str, owner: str | None) -> str:
    """Keys are text: vars become template names, and JSON (rows, records) has no other keys.

    YAML reads an unquoted ``1:``, ``true:`` or ``~:`` as a number, boolean or null; as Python keys
    ``1`` and ``true`` would even be the same key. Say what YAML made of it and how to write text.
    """
    what = "true or false" if isinstance(key, bool) else "null" if key is None else "a number"
    shown = raw or "(empty)"
    if owner in ("vars", "counterfactual"):
        name = "v" + (re.sub(r"[^A-Za-z0-9_]+", "_", raw) if raw and raw not in _NULLS else "1")
        return f"var name {shown} is {what}; quote it or use a name like {name}"
    return f'key {shown} is {what}, not text; quote it ("{raw}") or use a word'


def _bad_tag(tag: str) -> str:
    shown = tag.replace("tag:yaml.org,2002:", "!!")
    return f"unsupported YAML tag {shown!r}; a suite holds plain data only: remove the tag"


_OPENERS = {
    "while parsing a flow mapping": "`{`",
    "while parsing a flow sequence": "`[`",
    "while scanning a quoted scalar": "quote",
}
_HINTS = {
    "tab character": "indent with spaces, never tabs",
    "mapping values are not allowed": "quote a value that holds ': ' (e.g. p: \"Answer: yes or no\")",
    "cannot start any token": "quote a value that starts with a special character (@, `, %, |, >)",
    "another document": "a suite is one YAML document: remove the `---` line or move the rest to another file",
    "maximum nesting depth": "flatten it: a suite nests a few levels, never this many (limits.depth)",
}


def _syntax_problem(exc: yaml.MarkedYAMLError) -> tuple[int, str]:
    """(line, sentence) for a libyaml error: point at an unclosed `{`/`[`/quote where it opens."""
    problem = exc.problem or exc.context or "syntax error"
    pmark, cmark = exc.problem_mark, exc.context_mark
    line = pmark.line + 1 if pmark is not None else (cmark.line + 1 if cmark is not None else 0)
    opener = _OPENERS.get(exc.context or "")
    if opener and cmark is not None:
        end = f" ({problem} on line {line})" if pmark is not None else ""
        return cmark.line + 1, f"the {opener} opened at column {cmark.column + 1} is never closed{end}; close it"
    hint = next((h for key, h in _HINTS.items() if key in problem), "")
    if not hint and cmark is not None and (exc.context or "").startswith("while parsing a block"):
        hint = f"check the indentation: the keys of the block that starts on line {cmark.line + 1} must line up"
    problem = problem.replace("but found another document", "a second document starts here")
    column = f" (column {pmark.column + 1})" if pmark is not None else ""
    return line, f"{problem}{column}; {hint or 'check the indentation and quoting here'}"


def line_of(doc: Any, path: tuple[Any, ...] | list[Any]) -> int:
    """The line of the deepest node along ``path`` (keys / indices) that carries a line number."""
    line = getattr(doc, "line", 0)
    node = doc
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
        line = getattr(node, "line", line) if isinstance(node, (LineDict, LineList)) else line
    return line
