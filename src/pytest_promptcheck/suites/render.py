"""Rendering prompt variants with a case's vars: Jinja2 with StrictUndefined.

A missing variable is an error that names the case, the prompt variant and the variable — never
an empty string silently sent to a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from .limits import SuitePolicy
from .model import Messages, PromptVariant


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
        self.env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
        self.env.globals["file"] = self._include
        self._compiled: dict[str, jinja2.Template] = {}
        self.included: set[Path] = set()

    def _include(self, relative: str) -> str:
        path = (self.suite_dir / relative).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RenderError(
                f"file({relative!r}) cannot be read ({exc.strerror}; looked for {path}); "
                "paths are relative to the suite file",
                in_template=True,
            ) from None
        self.included.add(path)
        return text

    def compile(self, source: str) -> jinja2.Template:
        template = self._compiled.get(source)
        if template is None:
            try:
                template = self.env.from_string(source)
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
        try:
            return self.compile(source).render(values)
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{_undefined_name(exc)} is undefined", undefined=True) from None
        except RenderError:
            raise
        except jinja2.TemplateError as exc:
            raise RenderError(f"template error: {exc}; fix the template expression") from None

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
            {"role": message.role, "content": self.render_text(message.content, values)} for message in variant.messages
        )


def _undefined_name(exc: jinja2.UndefinedError) -> str:
    # Jinja says "'ticket' is undefined"; keep just the quoted name for our own sentence.
    text = str(exc.message or exc)
    return text.split(" is undefined")[0] if " is undefined" in text else text
