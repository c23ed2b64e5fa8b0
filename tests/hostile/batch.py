"""Batch mode's keys (``batch``, ``batch_poll_s``, ``price.batch_discount``) with wrong values: usage errors
naming the file, the key and the fix."""

from __future__ import annotations

from . import GOOD_SUITE, Hostile

_MODEL = '\n[tool.promptcheck.model.echo]\nprovider = "python"\nfunction = "app:echo"\n'
_GPT = '\n[tool.promptcheck.model.gpt]\nprovider = "openai"\nmodel = "gpt-test"\n'


def _entry(name: str, pyproject: str, expect: str, note: str) -> Hostile:
    return Hostile(
        name=name,
        files={
            "pyproject.toml": '[tool.promptcheck]\nmodels = ["echo"]\n' + pyproject,
            "test_s.prompts.yaml": GOOD_SUITE,
        },
        expect=(expect,),
        status=4,
        note=note,
    )


ENTRIES = [
    _entry(
        "batch_discount_above_one",
        _MODEL + _GPT + "price = { input_per_mtok = 1.0, batch_discount = 2 }\n",
        "*[[]tool.promptcheck.model.gpt[]] price.batch_discount must be the share of the price a batched call "
        "saves, from 0 to 1 (0.5: half price), got 2",
        "a discount over 100% would make batched calls earn money",
    ),
    _entry(
        "batch_discount_as_text",
        _MODEL + _GPT + 'price = { input_per_mtok = 1.0, batch_discount = "50%" }\n',
        "*price.batch_discount must be the share of the price a batched call saves*got '50%'",
        "a percentage written as text",
    ),
    _entry(
        "batch_on_a_python_model",
        _MODEL + "batch = true\n",
        "*[[]tool.promptcheck.model.echo[]] batch: provider 'python' has no batch API (batch mode serves openai, "
        "anthropic); remove `batch = true`: this model is called directly",
        "a provider without a batch API asked to batch",
    ),
    _entry(
        "batch_as_text",
        _GPT.replace("gpt]", "echo]") + 'batch = "yes"\n',
        "*[[]tool.promptcheck.model.echo[]] batch must be true or false, got 'yes'",
        "a string where a bool is wanted",
    ),
    _entry(
        "batch_poll_zero",
        "batch_poll_s = 0\n" + _MODEL,
        "*[[]tool.promptcheck[]] batch_poll_s must be a number of seconds above 0, got 0",
        "polling a batch in a busy loop",
    ),
]
