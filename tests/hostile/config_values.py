"""Configuration values of the wrong type or out of range: a usage error naming the file, key and fix."""

from __future__ import annotations

from . import GOOD_SUITE, Hostile

_MODEL = '\n[tool.promptcheck.model.echo]\nprovider = "python"\nfunction = "app:echo"\n'


def _entry(name: str, pyproject: str, expect: str, note: str, **files: str) -> Hostile:
    return Hostile(
        name=name,
        files={"pyproject.toml": pyproject, "test_s.prompts.yaml": GOOD_SUITE, **files},
        expect=(expect,),
        status=4,
        note=note,
    )


ENTRIES = [
    _entry(
        "cache_is_a_number",
        "[tool.promptcheck]\ncache = 5\n" + _MODEL,
        '*pyproject.toml: [[]tool.promptcheck[]] cache must be a path string, or "off" (or false)*got 5',
        "a number where a path is wanted was kept as the cache 'path'",
    ),
    _entry(
        "model_concurrency_negative",
        _MODEL + "concurrency = -4\n",
        "*[[]tool.promptcheck.model.echo[]] concurrency must be a whole number of at least 1, got -4",
        "a negative in-flight limit",
    ),
    _entry(
        "model_table_as_list",
        '[tool.promptcheck]\nmodel = [{ provider = "python", function = "app:echo" }]\n',
        "*[[]tool.promptcheck[]] model must be a table of named models, got a list*[[]tool.promptcheck.model.NAME[]]*",
        "model = [...] crashed the reader with an AttributeError",
    ),
    _entry(
        "model_array_of_tables",
        '[[tool.promptcheck.model.echo]]\nprovider = "python"\nfunction = "app:echo"\n',
        "*[[][[]tool.promptcheck.model.echo[]][]] is an array of tables; write [[]tool.promptcheck.model.echo[]]*",
        "double brackets make a list of tables",
    ),
    _entry(
        "retries_negative",
        "[tool.promptcheck]\nretries = -1\n" + _MODEL,
        "*[[]tool.promptcheck[]] retries must be a whole number of at least 0, got -1",
        "a negative retry count",
    ),
    _entry(
        "timeout_zero",
        "[tool.promptcheck]\ntimeout = 0\n" + _MODEL,
        "*[[]tool.promptcheck[]] timeout must be a number of seconds above 0, got 0",
        "every call would time out at once",
    ),
    _entry(
        "bool_as_concurrency",
        "[tool.promptcheck]\nconcurrency = true\n" + _MODEL,
        "*[[]tool.promptcheck[]] concurrency must be a whole number of at least 1, got True",
        "True is an int in Python: it read as 1",
    ),
    _entry(
        "params_not_a_table",
        _MODEL + 'params = "temperature=2"\n',
        "*[[]tool.promptcheck.model.echo[]] params must be a table*got 'temperature=2'",
        "params as a string crashed dict()",
    ),
    _entry(
        "price_negative",
        _MODEL + "price = { input_per_mtok = -3 }\n",
        "*[[]tool.promptcheck.model.echo[]] price.input_per_mtok must be a number of USD per million tokens of "
        "at least 0, got -3",
        "a negative price gives negative costs",
    ),
    _entry(
        "ini_concurrency_garbage",
        _MODEL,
        "*pytest.ini: promptcheck_concurrency must be a whole number of at least 1, got 'lots'",
        "ini keys arrive as strings",
        **{"pytest.ini": "[pytest]\npromptcheck_concurrency = lots\n"},
    ),
    _entry(
        "ini_timeout_negative",
        _MODEL,
        "*pytest.ini: promptcheck_timeout must be a number of seconds above 0, got -2.5",
        "a numeric ini string is converted, then range-checked",
        **{"pytest.ini": "[pytest]\npromptcheck_timeout = -2.5\n"},
    ),
]
