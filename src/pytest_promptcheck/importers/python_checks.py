"""promptfoo ``python`` assertions → functions of one generated module, ``python: promptfoo_checks:check_N``.

promptfoo runs an inline value as an expression (one line) or a function body (several lines,
with ``return``), or calls ``get_assert(output, context)`` in a ``file://`` module; each returns a
bool, a score or ``{"pass", "score", "reason"}``, as our ``python`` assertion does. Its ``context``
is a dict; the generated function passes ``{"vars", "prompt"}`` built from ours.
"""

from __future__ import annotations

import ast
import json
import textwrap

MODULE = "promptfoo_checks.py"

_HEAD = '''"""Checks written by `promptcheck import promptfoo`: promptfoo python assertions as python assertions."""

import importlib.util
from pathlib import Path


def _context(context):
    # promptfoo's context is a dict; this one carries its two most used keys
    return {"vars": dict(context.vars), "prompt": context.messages[-1]["content"] if context.messages else ""}


def _load(relative, function):
    path = Path(__file__).parent / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, function)
'''


class BadCheck(ValueError):
    """Inline Python that does not parse; the message says why."""


class ChecksModule:
    """Collects the generated check functions; ``text()`` is the module (empty when none)."""

    def __init__(self) -> None:
        self.functions: list[str] = []

    def inline(self, code: str) -> str:
        """The function name for an inline expression or body."""
        code = code.strip("\n")
        single = "\n" not in code.strip()
        body = f"return {code.strip()}" if single else textwrap.dedent(code)
        try:
            ast.parse(f"def _(output, context):\n{textwrap.indent(body, '    ')}\n")
        except SyntaxError as exc:
            raise BadCheck(f"the Python does not parse ({exc.msg}, line {exc.lineno})") from None
        return self._add(body)

    def file(self, relative: str, function: str) -> str:
        """The function name for ``file://relative:function`` (promptfoo's default: ``get_assert``)."""
        return self._add(f"return _load({json.dumps(relative)}, {json.dumps(function)})(output, context)")

    def _add(self, body: str) -> str:
        name = f"check_{len(self.functions) + 1}"
        lines = [f"def {name}(output, context):", "    context = _context(context)"]
        lines += [textwrap.indent(body, "    ")]
        self.functions.append("\n".join(lines))
        return name

    def text(self) -> str:
        if not self.functions:
            return ""
        return _HEAD + "".join(f"\n\n{function}\n" for function in self.functions)
