"""Scrubbing secrets from everything the plugin writes (run records, cassettes, exports).

Three sources of things to scrub, applied to every string before it reaches a file:

- the *values* of environment variables that hold credentials (names containing KEY, TOKEN,
  SECRET, PASSWORD, ... and every model's ``api_key_env``), wherever they appear in the text;
- text shaped like a credential: ``sk-...`` keys, ``Bearer ...`` tokens, ``api_key=...``;
- the project's ``redact`` list: a bare name (``X-Internal-Token``) scrubs the value written after
  it (``X-Internal-Token: abc``, ``"X-Internal-Token": "abc"``, ``X-Internal-Token=abc``); anything
  else is a regular expression whose matches are scrubbed.

HTTP headers are never stored at all; this is the second line of defence for what a prompt, an
output or an error message might carry.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)
# Model keys that name a credential's variable besides api_key_env (azure-openai's Entra ID token).
# The clouds' default variables (AZURE_OPENAI_API_KEY, AZURE_OPENAI_AD_TOKEN, AWS_SECRET_ACCESS_KEY,
# AWS_SESSION_TOKEN, AWS_BEARER_TOKEN_BEDROCK) are scrubbed by _SECRET_NAME already.
_SECRET_OPTIONS = ("azure_ad_token_env",)
_MIN_SECRET_LEN = 8  # shorter values ("1", "true") would scrub ordinary words
# Credential shapes, each with the lower-case substrings that must occur for it to match: most
# strings hold none of them, and a substring test is far cheaper than a regex scan.
_SHAPES = (
    (("sk-",), r"\bsk-[A-Za-z0-9_\-]{16,}"),  # OpenAI / Anthropic style keys
    (("bearer",), r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]{8,}"),
    (
        ("api_key", "api-key", "apikey", "access_token", "access-token", "secret", "password"),
        r"(?i)\b(?:api[_-]?key|access[_-]?token|secret|password)[\"']?\s*[=:]\s*[\"']?[^\s\"',&]{4,}",
    ),
)
_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


class Redactor:
    """Replaces secrets in strings (and in the strings inside JSON-like data) with ``[REDACTED]``."""

    def __init__(self, patterns: Iterable[str] = (), *, environ: Mapping[str, str] | None = None,
                 secret_env: Iterable[str] = ()) -> None:  # fmt: skip
        env = os.environ if environ is None else environ
        names = {n for n in env if _SECRET_NAME.search(n)} | {n for n in secret_env if n}
        values = sorted({env[n] for n in names if len(env.get(n, "")) >= _MIN_SECRET_LEN}, key=len, reverse=True)
        # (triggers, regex): the regex runs only when one trigger occurs in the lower-cased text;
        # no triggers (a user's regex) means it always runs.
        rules: list[tuple[tuple[str, ...], str]] = [((v.lower(),), re.escape(v)) for v in values]
        rules += list(_SHAPES)
        for pattern in patterns:
            if _NAME.match(pattern):  # a header / field name: scrub the value that follows it
                rules.append(((pattern.lower(),), rf"(?i)(?<={re.escape(pattern)})[\"']?\s*[=:]\s*[\"']?[^\s\"',&]+"))
            else:
                rules.append(((), pattern))
        self._rules = [(triggers, re.compile(regex)) for triggers, regex in rules]
        # Whether checking a record's JSON text finds everything checking its strings would find.
        self.json_exact = all(triggers for triggers, _ in rules) and not any(_JSON_ESCAPED.search(v) for v in values)

    def _active(self, value: str) -> list[re.Pattern[str]]:
        lower = value.lower()
        return [regex for triggers, regex in self._rules if not triggers or any(t in lower for t in triggers)]

    def needed(self, value: str) -> bool:
        """Whether ``value`` holds anything to scrub (a quick check before walking a whole record)."""
        return any(regex.search(value) for regex in self._active(value))

    def text(self, value: str) -> str:
        for regex in self._active(value):
            value = regex.sub(MASK, value)
        return value

    def data(self, value: Any) -> Any:
        """A copy of JSON-like ``value`` with every string (keys included) scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value

    def json_line(self, value: Any) -> str:
        """``value`` as one line of JSON, scrubbed (checking the text once, walking the data only when needed)."""
        data = json.dumps(value, ensure_ascii=False, default=str)
        if self.json_exact and not self.needed(data):
            return data
        return json.dumps(self.data(value), ensure_ascii=False, default=str)


def check_patterns(patterns: Iterable[str], source: str) -> None:
    """Compile each ``redact`` pattern as :class:`Redactor` will; a bad regular expression raises ValueError
    naming ``source[i]``, the pattern and the regex error (config load reports it, not the first write)."""
    for index, pattern in enumerate(patterns):
        if _NAME.match(pattern):
            continue
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"{source}[{index}] {pattern!r} is not a valid regular expression ({exc}); fix it, or write a bare "
                "header or field name (letters, digits, _ and -) to scrub the value after it"
            ) from None


def redactor_for(project: Any) -> Redactor:
    """The redactor of a project: its ``redact`` list plus every model's ``api_key_env`` (and ``azure_ad_token_env``)."""
    secret_env = [m.api_key_env for m in project.models.values() if m.api_key_env]
    secret_env += [str(m.options[k]) for m in project.models.values() for k in _SECRET_OPTIONS if m.options.get(k)]
    return Redactor(project.redact, secret_env=secret_env)
