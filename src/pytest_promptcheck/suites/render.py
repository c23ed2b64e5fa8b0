"""Rendering prompt variants with a case's vars: sandboxed Jinja2 with StrictUndefined.

A missing variable is an error that names the case, the prompt variant and the variable — never
an empty string silently sent to a model. Templates are untrusted input: they render in a sandbox
with budgets (:mod:`.sandbox`) and read files only through :mod:`.files`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SecurityError

from .files import SuiteFileError, read_suite_file
from .limits import SuitePolicy
from .model import Messages, MessageTemplate, PromptVariant
from .parts import PartError, render_parts
from .sandbox import BudgetedSandbox, TemplateLimitError

_UNSAFE_NAME = re.compile(r"attribute '([^']+)'")


class RenderError(Exception):
    """A template could not be compiled or rendered; the message says which variable or syntax.

    ``in_template`` is true when the template itself is wrong (syntax, unreadable ``file()``), the
    same for every case; false when a case lacks a variable.
    """

    def __init__(self, message: str, *, in_template: bool = False, undefined: bool = False) -> None:
        super().__init__(message)
        self.in_template = in_template
        self.undefined = undefined  # a variable is missing: the fix is to define it in `vars`


class PromptRenderer:
    """Compiles a suite's prompt variants once and renders them per case."""

    def __init__(self, suite_dir: Path, policy: SuitePolicy | None = None) -> None:
        self.suite_dir = suite_dir
        self.policy = policy or SuitePolicy.nearest(suite_dir / "suite")
        self.env = BudgetedSandbox(self.policy.limits)
        self.env.globals["file"] = self._include
        self._compiled: dict[str, jinja2.Template] = {}
        self.included: dict[Path, bytes] = {}  # each file() read, as read: the suite's digest covers them

    def _include(self, relative: str) -> str:
        path = (self.suite_dir / str(relative)).resolve()
        try:
            data = read_suite_file(path, self.policy, what="file()", ref=str(relative))
            text = data.decode("utf-8")
        except SuiteFileError as exc:
            raise RenderError(str(exc), in_template=True) from None
        except UnicodeDecodeError as exc:
            raise RenderError(
                f"file({relative!r}) is not UTF-8 text ({exc.reason}); save it as UTF-8", in_template=True
            ) from None
        self.included[path] = data
        return text

    def compile(self, source: str) -> jinja2.Template:
        template = self._compiled.get(source)
        if template is None:
            try:
                template = self.env.from_source(source)
            except jinja2.TemplateSyntaxError as exc:
                where = f" on template line {exc.lineno}" if "\n" in source.strip() else ""
                raise RenderError(
                    f"template syntax error{where}: {(exc.message or '').rstrip('.')}; check that every `{{{{` has its `}}}}` "
                    "and every `{% %}` block is closed",
                    in_template=True,
                ) from None
            self._compiled[source] = template
        return template

    def render_text(self, source: str, values: Mapping[str, Any]) -> str:
        if "{" not in source:  # most vars and many prompts hold no template at all
            return source
        template = self.compile(source)
        self.env.start()
        try:
            text = template.render(values)
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{_undefined_name(exc)} is undefined", undefined=True) from None
        except SecurityError as exc:
            raise RenderError(_unsafe(exc), in_template=True) from None
        except TemplateLimitError as exc:
            raise RenderError(str(exc), in_template=True) from None  # one report per prompt, not per case
        except RenderError:
            raise
        except RecursionError:
            raise RenderError(
                "the template calls itself too deeply (a macro without an end)", in_template=True
            ) from None
        except (jinja2.TemplateError, ArithmeticError, ValueError, TypeError) as exc:
            raise RenderError(f"template error: {exc}; fix the template expression") from None
        limit = self.env.limits.rendered_chars
        if len(text) > limit:
            raise RenderError(
                f"the rendered message has {len(text)} characters, over limits.rendered_chars = {limit}; "
                "shorten the prompt or its vars, or raise the limit under [tool.promptcheck.limits]"
            )
        return text

    def render(
        self, variant: PromptVariant, variables: Mapping[str, Any], binding: Mapping[str, Any] | None = None
    ) -> Messages:
        """Render ``variant`` for a case; ``binding`` fills counterfactual placeholders in vars."""
        values = dict(variables)
        if binding:
            for key, value in values.items():
                if isinstance(value, str):
                    try:
                        values[key] = self.render_text(value, binding)
                    except RenderError as exc:
                        raise RenderError(f"vars.{key}: {exc}", undefined=exc.undefined) from None
            values.update({k: v for k, v in binding.items() if k not in variables})
        return tuple(
            {"role": message.role, "content": self.render_content(message, values)} for message in variant.messages
        )

    def render_content(self, message: MessageTemplate, values: Mapping[str, Any]) -> Any:
        """One message's content: its text, or its parts (text and images) in the neutral form."""
        if not message.parts:
            return self.render_text(message.content, values)
        try:
            return render_parts(message.parts, lambda source: self.render_text(source, values), self._image)
        except PartError as exc:
            raise RenderError(str(exc), in_template=exc.in_template) from None

    def _image(self, relative: str) -> bytes:
        """An image a content part names: under the roots, regular, at most ``limits.image_bytes``."""
        path = (self.suite_dir / relative).resolve()
        try:
            data = read_suite_file(path, self.policy, what="image", ref=relative, key="image_bytes")
        except SuiteFileError as exc:
            raise PartError(str(exc), in_template=False) from None  # render_parts knows if the path is literal
        self.included[path] = data  # the suite's digest (and the parse cache) covers the image's bytes
        return data


def _unsafe(exc: SecurityError) -> str:
    # Jinja says "access to attribute '__init__' of 'Cycler' object is unsafe."; name the attribute.
    found = _UNSAFE_NAME.search(str(exc))
    name = found.group(1) if found else ""
    if name.startswith("_"):
        what = f"Python internals (`{name}`)"
    elif name:
        what = f"`{name}`, which changes data"  # ImmutableSandbox: `list.append`, `dict.update`...
    else:
        what = f"something unsafe ({str(exc).rstrip('.')})"
    return f"template tries to reach {what}; a template may use vars, filters and `file()` only"


def _undefined_name(exc: jinja2.UndefinedError) -> str:
    # Jinja says "'ticket' is undefined"; keep just the quoted name for our own sentence.
    text = str(exc.message or exc)
    return text.split(" is undefined")[0] if " is undefined" in text else text
