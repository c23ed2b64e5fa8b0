"""The one YAML loader of the project: YAML 1.2 core schema, with a line number for every node.

Why not ruamel.yaml's round-trip loader here: it is pure Python and takes ~13 s for a 10,000-case
file on a 2-core CI machine; libyaml (through PyYAML's C parser) composes the same file in about a
second. ruamel.yaml stays the tool for *editing* suites (``promptcheck add``), where comments and
key order must survive. Both agree on YAML 1.2 scalars: ``no``, ``on``, ``yes`` stay strings, and
``012`` is the integer 12.

Mappings load as :class:`LineDict`, sequences as :class:`LineList`; both remember the 1-based line
of themselves and of each key / item, so every validation error can point at ``file:line``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import SuiteError

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
    """Turns composed nodes into LineDict/LineList/scalars, rejecting duplicate keys and odd tags."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def build(self, node: yaml.Node) -> Any:
        line = node.start_mark.line + 1
        if node.id == "scalar":
            return self._scalar(node, line)
        if node.tag not in (_SEQ, _MAP, "!"):
            raise SuiteError.at(self.path, line, _bad_tag(node.tag))
        if node.id == "sequence":
            seq = LineList(line)
            for item in node.value:
                seq.append(self.build(item))
                seq.item_lines.append(item.start_mark.line + 1)
            return seq
        return self._mapping(node, line)

    def _scalar(self, node: yaml.ScalarNode, line: int) -> Any:
        tag = node.tag
        if tag == _PLAIN:
            return _plain_scalar(node.value)
        if tag in (_STR, "!"):
            return node.value
        raise SuiteError.at(self.path, line, _bad_tag(tag))

    def _mapping(self, node: yaml.MappingNode, line: int) -> LineDict:
        mapping = LineDict(line)
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge" or (
                key_node.id == "scalar" and key_node.value == "<<" and key_node.tag == _PLAIN
            ):
                raise SuiteError.at(
                    self.path, key_line, "YAML merge keys ('<<') are not part of YAML 1.2; use `defaults:`"
                )
            key = self.build(key_node)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                hint = (
                    'a value that starts with `{{` must be quoted: p: "{{ var }} ..."'
                    if key_node.id == "mapping" and key_node.flow_style
                    else "use a plain word or quoted text as the key"
                )
                raise SuiteError.at(self.path, key_line, f"mapping keys must be plain scalars; {hint}")
            if key in mapping:
                first = mapping.key_lines[key]
                raise SuiteError.at(self.path, key_line, f"duplicate key {key!r} (first set on line {first}); keep one")
            mapping[key] = self.build(value_node)
            mapping.key_lines[key] = key_line
        return mapping


def load_yaml(text: str, path: Path) -> Any:
    """Parse one YAML document; raise :class:`SuiteError` with file:line on any syntax problem."""
    loader = _Loader(text)
    try:
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
    return _Builder(path).build(node)


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
