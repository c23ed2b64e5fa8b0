"""A baseline/candidate pytester project whose two `python` models answer what each case says.

The prompt of every case is ``"{{ base }}|{{ tuned }}"``: model ``base`` answers the text before
the bar, ``tuned`` the text after it. A case that must pass says ``ok``; so a suite is written as a
list of (baseline verdict, candidate verdict) pairs and the comparison is known in advance.
"""

from __future__ import annotations

import pytest

from conftest import make_pyproject

PAIR_APP = """
from pytest_promptcheck.errors import ProviderError


def _answer(messages, side):
    text = messages[-1]["content"]
    answer = text.split("|")[side]
    if answer == "boom":
        raise ProviderError("python", "tuned" if side else "base", "the server is down")
    return {"output": answer, "latency_ms": 10.0 * (side + 1), "usage": {"input_tokens": 5, "output_tokens": 1}}


def base(messages, params):
    return _answer(messages, 0)


def tuned(messages, params):
    return _answer(messages, 1)
"""

_WORD = {True: "ok", False: "bad", None: "boom"}


def pair_suite(
    pairs: list[tuple[bool | None, bool | None]], *, tags: dict[int, str] | None = None, extra: str = ""
) -> str:
    """A suite with one case per (baseline passes, candidate passes); None: the call fails (an error)."""
    lines = ['prompts: {p: "{{ base }}|{{ tuned }}"}', "defaults:", "  assert: [{equals: ok}]", "cases:"]
    for i, (base, tuned) in enumerate(pairs):
        tag = f", tags: [{tags[i]}]" if tags and i in tags else ""
        lines.append(f"  - {{id: c{i:02d}, vars: {{base: {_WORD[base]}, tuned: {_WORD[tuned]}}}{tag}}}")
    return "\n".join(lines) + "\n" + extra


def setup_pair_project(pytester: pytest.Pytester, pairs: list[tuple[bool | None, bool | None]], *,
                       gate: str = "", tags: dict[int, str] | None = None, metrics: str = "") -> None:  # fmt: skip
    """Writes the app, a pyproject with base → tuned (and a ``[tool.promptcheck.gate]`` body) and the suite."""
    pytester.makepyfile(pairapp=PAIR_APP)
    extra = 'baseline = "base"\ncandidate = "tuned"\n' + (f"\n[tool.promptcheck.gate]\n{gate}\n" if gate else "")
    pytester.makepyprojecttoml(make_pyproject({"base": "pairapp:base", "tuned": "pairapp:tuned"}, extra))
    pytester.makefile(".prompts.yaml", test_pairs=pair_suite(pairs, tags=tags, extra=metrics))


def section(output: str) -> list[str]:
    """The lines of the promptcheck section of a terminal summary."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("=") and " promptcheck " in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("=")), len(lines))
    return [line for line in lines[start + 1 : end] if "run record" not in line]  # its path differs per run


# Ten unchanged passes: tuned answers in 20 ms, base in 10 ms (see PAIR_APP).
SAME_AND_SLOW: list[tuple[bool | None, bool | None]] = [(True, True)] * 10
