"""``promptcheck import promptfoo --check``: our rendered prompts side by side with promptfoo's.

promptfoo renders with Nunjucks, we with Jinja2; the ``echo`` provider makes promptfoo's output
its rendered prompt, so one ``promptfoo eval`` lists them. Needs ``npx promptfoo`` (npm); without
it the check says it was skipped. Prompts are compared as multisets of texts (ids differ).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import SuiteError
from ..suites.load import load_suite


def ours(suite: Path) -> Counter[str]:
    loaded = load_suite(suite)
    texts: Counter[str] = Counter()
    for calls in loaded.rendered.values():
        for messages in calls:
            texts[_text(list(messages))] += 1
    return texts


def theirs(config: Path, timeout: float = 300) -> Counter[str] | None:
    """promptfoo's rendered prompts, or None when promptfoo cannot run here."""
    if shutil.which("npx") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "out.json"
        command = ["npx", "--no-install", "promptfoo", "eval", "-c", str(config), "--providers", "echo"]
        command += ["-o", str(output), "--no-cache", "--no-table", "--no-write"]
        try:
            subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
            data = json.loads(output.read_text(encoding="utf-8"))
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return None
    results = data.get("results", {})
    rows = results.get("results", []) if isinstance(results, dict) else results
    return Counter(_text(row.get("prompt", {}).get("raw", "")) for row in rows)


def _text(prompt: Any) -> str:
    """One comparable text: a chat prompt as its messages' contents, a text prompt as itself."""
    if isinstance(prompt, str):
        try:
            prompt = json.loads(prompt)
        except ValueError:
            return prompt.strip()
    if isinstance(prompt, list):
        return "\n".join(str(m.get("content", "")).strip() for m in prompt if isinstance(m, dict))
    return str(prompt).strip()


def compare(config: Path, suite: Path) -> str:
    """One line (and the differences) saying whether both tools render the same prompts."""
    other = theirs(config)
    if other is None:
        return "check skipped: promptfoo is not installed (npx promptfoo); nothing compared"
    try:
        mine = ours(suite)
    except SuiteError as exc:
        return f"check: the suite does not load: {exc}"
    if mine == other:
        return f"check: {sum(mine.values())} rendered prompt(s) are the same in both tools"
    lines = ["check: rendered prompts differ (promptfoo has <, promptcheck has >):"]
    lines += [f"< {t!r}" for t in (other - mine)] + [f"> {t!r}" for t in (mine - other)]
    return "\n".join(lines)
