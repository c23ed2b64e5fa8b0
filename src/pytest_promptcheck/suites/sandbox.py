"""The Jinja2 environment prompts render in: a sandbox with a budget, since a suite is untrusted input.

Jinja's ``ImmutableSandboxedEnvironment`` stops a template reaching Python internals
(``cycler.__init__.__globals__``, ``''.__class__.__mro__``) and mutating data. What it does not
stop is a template that asks for too much: ``range(10**8)``, ``'x' * 10**10``, ``9**9**9``, nested
loops, a string doubled in a loop. :class:`BudgetedSandbox` bounds each render:

- every loop iteration, ``range()`` item and call (a macro calling itself twice per level makes
  no loop at all) is a step, counted against ``limits.template_steps``. Loops are counted by
  rewriting the parsed template so each ``{% for %}``'s iterable passes through
  :meth:`BudgetedSandbox.steps`: counting where the loop consumes its items is exact whatever the
  iterable is (a var's list, a filter's result, ``dict.items()``), where wrapping ``range`` alone
  would miss nested loops over a case's lists.
- every character the render builds is counted against :data:`PRODUCED_FACTOR` times
  ``limits.rendered_chars``: ``{{ }}`` outputs, ``~`` joins, each filter's input and result, and,
  checked *before* they are computed, the results of ``*``, ``**``, ``+``, ``%`` (intercepted
  operators) and of the padding methods and filters (``center``, ``ljust``, ``replace``,
  ``batch``...). Counting what is built, not only the final message, bounds the time too: a
  loop that builds and drops a big string each step runs out as surely as one that keeps it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .limits import SuiteLimits

# Text built while rendering (``{% set %}`` blocks, filter inputs and results, the output) is a few
# times the final message; beyond this factor of ``rendered_chars`` the template is an attack.
PRODUCED_FACTOR = 8
# str methods whose result grows with an integer argument (a width, a tab size, a count).
# A macro call costs as much time as a few dozen loop iterations (a frame, a buffer, its
# arguments): weighted so, a macro calling itself twice per level stops as soon as a loop would.
MACRO_STEPS = 16
_STEPS, _PRODUCE = "promptcheck_steps", "promptcheck_produce"  # hook filters (see __init__)
_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_DIGITS = re.compile(r"\d+")


class TemplateLimitError(jinja2.TemplateError):
    """A template went past one of the suite limits while rendering; the message names the key."""


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with per-render step and size budgets (:meth:`start` before each render).

    Renders happen one at a time in the loader, so the budget lives on the environment.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, limits: SuiteLimits) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
        self.limits = limits
        self.max_chars = limits.rendered_chars * PRODUCED_FACTOR
        self.steps_left = self.chars_left = 0
        self.start()
        self.globals["range"] = self.range
        # lipsum(10**8) writes that many paragraphs in one call: ours checks the size first.
        self._lipsum: Callable[..., Any] = self.globals["lipsum"]  # type: ignore[assignment]
        self.globals["lipsum"] = self.lipsum
        for name, function in list(self.filters.items()):
            self.filters[name] = self._counted_filter(function, _FILTER_SIZES.get(name))
        # The hooks from_source writes in are filters: a filter is a direct call, where a Call node
        # would go through the sandbox's call() (its checks cost more than the hook). pass_context
        # keeps Jinja from folding them at compile time, outside any render's budget.
        self.filters[_STEPS] = jinja2.pass_context(lambda _, iterable: self.steps(iterable))
        self.filters[_PRODUCE] = jinja2.pass_context(lambda _, value: self.produce(value))

    def start(self) -> None:
        self.steps_left = self.limits.template_steps
        self.chars_left = self.max_chars

    def from_source(self, source: str) -> jinja2.Template:
        """Compile ``source`` with every loop's iterable counted and every output and ``~`` part charged."""
        tree = self.parse(source)
        for loop in tree.find_all(nodes.For):
            loop.iter = _hook(_STEPS, loop.iter)
        for output in tree.find_all(nodes.Output):
            output.nodes = [n if isinstance(n, nodes.TemplateData) else _hook(_PRODUCE, n) for n in output.nodes]
        for concat in tree.find_all(nodes.Concat):
            concat.nodes = [_hook(_PRODUCE, n) for n in concat.nodes]
        return self.from_string(tree)

    # -- budgets ---------------------------------------------------------------------------------
    def charge(self, steps: int) -> None:
        self.steps_left -= steps
        if self.steps_left < 0:
            raise TemplateLimitError(
                f"the template takes more than limits.template_steps = {self.limits.template_steps} steps "
                f"(loop iterations and calls, a macro call counting {MACRO_STEPS}); make it loop less, or raise the limit"
            )

    def spend(self, size: int, what: str) -> None:
        """Count ``size`` characters built (``what`` says by what) against the render's budget."""
        self.chars_left -= size
        if self.chars_left < 0:
            raise TemplateLimitError(
                f"{what} {size} characters, and the template builds more than {self.max_chars} characters in all "
                f"({PRODUCED_FACTOR} x limits.rendered_chars = {self.limits.rendered_chars}); make it smaller, "
                "or raise the limit"
            )

    def steps(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.charge(1)
            yield item

    def produce(self, value: Any) -> str:
        text = value if isinstance(value, str) else str(value)
        self.spend(len(text), "an expression makes")
        return text

    def range(self, *args: int) -> range:
        # Not charged as steps itself: a loop over it is, and so is a filter that consumes it.
        items = range(*args)
        if len(items) > self.limits.template_steps:
            raise TemplateLimitError(
                f"range({', '.join(map(str, args))}) has {len(items)} items, over limits.template_steps = "
                f"{self.limits.template_steps}; use a smaller range, or raise the limit"
            )
        return items

    def lipsum(self, n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        self.spend(n * max * 12, "lipsum() makes about")  # a word is at most ~11 characters and a space
        return str(self._lipsum(n, html, min, max))

    # -- sandbox hooks ---------------------------------------------------------------------------
    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(__obj, Macro):
            __self.charge(MACRO_STEPS)
        else:
            __self.charge(1)
        target = getattr(__obj, "__self__", None)
        if isinstance(target, str):
            __self._check_str_method(target, getattr(__obj, "__name__", ""), args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            self._check_product(left, right)
        elif operator == "**":
            self._check_power(left, right)
        elif operator == "+" and hasattr(left, "__len__") and hasattr(right, "__len__"):
            self.spend(len(left) + len(right), "`+` makes")
        elif operator == "%" and isinstance(left, str):
            self.spend(_format_size(left), "a `%` format width asks for")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:  # `'{:>99999999}'.format(x)`: the width is in the string
            self.spend(_format_size(value.__self__), "a format width asks for")
        return wrapped

    def _check_product(self, left: Any, right: Any) -> None:
        for seq, count in ((left, right), (right, left)):
            if hasattr(seq, "__len__") and isinstance(count, int):
                self.spend(len(seq) * count, "`*` makes")
        if isinstance(left, int) and isinstance(right, int):  # digits, about bits / 3.3
            self.spend((left.bit_length() + right.bit_length()) // 3, "`*` makes a number of")

    def _check_power(self, base: Any, exponent: Any) -> None:
        if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
            self.spend(exponent * abs(base).bit_length() // 3, "`**` makes a number of")

    def _check_str_method(self, text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        numbers = [a for a in (*args, *kwargs.values()) if isinstance(a, int)]
        if name in _WIDTH_METHODS and numbers:
            grow = max(numbers) * (text.count("\t") + 1 if name == "expandtabs" else 1)
            self.spend(grow, f"str.{name}() makes")
        elif name == "replace":
            self.spend(_replaced_size(text, *args), "str.replace() makes")

    def _counted_filter(self, function: Callable[..., Any], size: Callable[..., int] | None) -> Callable[..., Any]:
        """``function`` with its input and result charged, and its result size checked first where known."""
        skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0  # a context comes first
        name = f"the `{function.__name__.removeprefix('do_').removeprefix('sync_do_')}` filter makes"

        @functools.wraps(function)
        def counted(*args: Any, **kwargs: Any) -> Any:
            data = args[skip:]
            # an undefined input is the filter's to handle (`default`): StrictUndefined raises on len()
            if data and not isinstance(data[0], jinja2.Undefined) and hasattr(data[0], "__len__"):
                self.spend(len(data[0]), name)
            if size is not None:
                self.spend(size(*data, **kwargs), name)
            result = function(*args, **kwargs)
            if isinstance(result, str | list | tuple):
                self.spend(len(result), name)
            return result

        return counted


def _hook(name: str, node: Any) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def _format_size(template: Any, *_: Any, **__: Any) -> int:
    """The widest field a format string asks for (``%10000000s``, ``{:>10000000}``)."""
    widths = [int(d) for d in _DIGITS.findall(str(template)) if len(d) > 3]
    return max(widths, default=0)


def _replaced_size(text: Any = "", old: Any = "", new: Any = "", *_: Any, **__: Any) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    return (text.count(old) if old else len(text) + 1) * max(len(new) - len(old), 0)


def _int_arg(position: int, name: str) -> Callable[..., int]:
    def size(*args: Any, **kwargs: Any) -> int:
        value = args[position] if len(args) > position else kwargs.get(name, 0)
        return value if isinstance(value, int) else 0

    return size


def _indent_size(text: Any = "", width: Any = 4, *_: Any, **kwargs: Any) -> int:
    width = kwargs.get("width", width)
    per_line = width if isinstance(width, int) else len(str(width))
    return per_line * (str(text).count("\n") + 1)


# Filters that allocate in proportion to an argument: the size each would make, before it does.
_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "center": _int_arg(1, "width"),
    "indent": _indent_size,
    "format": _format_size,
    "replace": _replaced_size,
    "batch": _int_arg(1, "linecount"),
    "slice": _int_arg(1, "slices"),
}
