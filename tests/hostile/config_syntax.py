"""Malformed syntax inside values: ``${`` references, redact regexes, ``--pc-*`` numbers."""

from __future__ import annotations

from . import GOOD_SUITE, PYPROJECT, Hostile

_OPENAI = '[tool.promptcheck]\nmodels = ["gpt"]\n\n[tool.promptcheck.model.gpt]\nprovider = "openai"\n'


def _config(name: str, pyproject: str, expect: str, note: str) -> Hostile:
    files = {"pyproject.toml": pyproject, "test_s.prompts.yaml": GOOD_SUITE}
    return Hostile(name=name, files=files, expect=(expect,), status=4, note=note)


def _option(name: str, args: tuple[str, ...], expect: str, note: str) -> Hostile:
    files = {"pyproject.toml": PYPROJECT, "test_s.prompts.yaml": GOOD_SUITE}
    return Hostile(name=name, files=files, args=args, expect=(expect,), status=4, note=note)


ENTRIES = [
    _config(
        "base_url_ref_not_closed",
        _OPENAI + 'model = "gpt-4o-mini"\nbase_url = "${OPENAI_BASE_URL"\n',
        "*[[]tool.promptcheck.model.gpt[]] base_url: `${OPENAI_BASE_URL` is not closed; write ${NAME} or "
        "${NAME:-default}",
        "an unclosed reference was sent literally as the URL on every call",
    ),
    _config(
        "model_ref_empty",
        _OPENAI + 'model = "${}"\n',
        "*[[]tool.promptcheck.model.gpt[]] model: `${}` names no variable; write ${NAME} or ${NAME:-default}",
        "an empty reference",
    ),
    _config(
        "function_ref_bad_name",
        '[tool.promptcheck.model.echo]\nprovider = "python"\nfunction = "${1-APP}"\n',
        "*[[]tool.promptcheck.model.echo[]] function: `${1-APP}`: '1-APP' is not a variable name*",
        "a reference whose name no shell could export",
    ),
    _config(
        "redact_bad_regex",
        '[tool.promptcheck]\nredact = ["X-Token", "sk-(live"]\n' + PYPROJECT.replace("[tool.promptcheck]\n", ""),
        "*[[]tool.promptcheck[]] redact[[]1[]] 'sk-(live' is not a valid regular expression (missing )*",
        "a bad regex was an INTERNALERROR when the first record was written",
    ),
    _option(
        "pc_timeout_negative",
        ("--pc-timeout", "-1"),
        "*--pc-timeout must be a number of seconds above 0, got -1",
        "every call failed 'no answer within -1 s' five times",
    ),
    _option(
        "pc_concurrency_zero",
        ("--pc-concurrency", "0"),
        "*--pc-concurrency must be a whole number of at least 1, got 0",
        "no call could ever start",
    ),
    _option("pc_seed_letters", ("--pc-seed", "x"), "*--pc-seed must be a whole number, got 'x'", "not a number"),
    _option(
        "pc_model_ref_not_closed",
        ("--pc-model", "gpt=openai:gpt-4o@${URL"),
        "*--pc-model 'gpt=openai:gpt-4o@${URL' model: `${URL` is not closed*",
        "a command-line model with a broken reference",
    ),
]
