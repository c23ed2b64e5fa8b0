"""Shared fixtures: a pytester project with `python` models (plugin logic needs no real model)."""

from __future__ import annotations

import contextlib
import textwrap

import pytest
import yaml  # noqa: F401  # imported once here: pytester's in-process runs must not reload libyaml's classes

# numpy refuses a second import in one process ("cannot load module more than once"), and pytester's
# in-process runs drop the modules they imported: a test that imports numpy (datasets, TRL) after a
# run that first imported it would fail. Imported once here, it stays.
with contextlib.suppress(ImportError):
    import numpy  # noqa: F401

pytest_plugins = ["pytester", "server_fixtures", "model_fixtures"]

# A deterministic fake "model" module: the reply is chosen by the last user message, so each test
# states the outputs it needs in the suite itself (``vars: {reply: ...}`` with prompt "{{ reply }}").
FAKE_APP = '''
import json


def echo(messages, params):
    """Replies with the last message's text: the prompt decides the output."""
    return messages[-1]["content"]


def echo_upper(messages, params):
    return messages[-1]["content"].upper()


def with_usage(messages, params):
    text = messages[-1]["content"]
    return {"output": text, "usage": {"input_tokens": 100, "output_tokens": len(text.split())},
            "finish_reason": params.get("finish_reason", "stop")}


async def async_echo(messages, params):
    return messages[-1]["content"]


def broken(messages, params):
    raise RuntimeError("the app crashed")
'''


def make_pyproject(models: dict[str, str], extra: str = "") -> str:
    """``[tool.promptcheck]`` with one `python` model per name (name -> "app:function")."""
    lines = ["[tool.promptcheck]", f"models = {list(models)!r}".replace("'", '"'), extra.strip(), ""]
    for name, function in models.items():
        lines += [f"[tool.promptcheck.model.{name}]", 'provider = "python"', f'function = "{function}"', ""]
    return "\n".join(lines)


class PromptProject:
    """Writes a small project into ``pytester``'s folder: pyproject, fake app module, suites."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        pytester.makepyfile(app=FAKE_APP)

    def config(self, models: dict[str, str] | None = None, extra: str = "") -> None:
        self.pytester.makepyprojecttoml(make_pyproject(models or {"echo": "app:echo"}, extra))

    def suite(self, name: str = "test_suite", body: str = "") -> None:
        self.pytester.makefile(".prompts.yaml", **{name: textwrap.dedent(body)})


@pytest.fixture
def project(pytester: pytest.Pytester) -> PromptProject:
    """A pytester project with the fake app and one `python` model named ``echo`` (override with .config)."""
    proj = PromptProject(pytester)
    proj.config()
    return proj


@pytest.fixture(scope="session")
def trl_libs() -> tuple[object, object]:
    """``datasets`` and ``trl``, imported once per process before any test's pytester snapshot.

    pytester drops at teardown every module a test imported; datasets (pyarrow extension types) and
    torch (its C extension) cannot be imported a second time in one process. A session fixture is
    set up before the function-scoped pytester, so these imports (torch and the tokenizer classes
    of transformers included) outlive every test.
    """
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    _ = transformers.AutoTokenizer, transformers.PreTrainedTokenizerFast  # resolve the lazy modules now
    trl = pytest.importorskip("trl")
    pytest.importorskip("trl.data_utils")

    return pytest.importorskip("datasets"), trl
