"""A suite's prompt variants: ``prompts:`` (a template, or a list of messages) and ``prompts_from:``.

``prompts:`` gives one variant per key, in the file's order; ``prompts_from:`` one per prompt file
of a folder (by name; a name also under ``prompts:`` is a problem), read through
:func:`.files.read_suite_file` like every file a suite names. Also ``message_templates``, which
turns a prompt (or a ``cases_from`` row's own ``messages``) into ``MessageTemplate``s.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .limits import SuitePolicy
from .model import MessageTemplate, PromptVariant
from .parts import part_templates
from .yamlload import LineDict, LineList

_PROMPT_SUFFIXES = (".txt", ".md", ".j2", ".jinja", ".prompt")
_RELATIVE = "paths are relative to the suite file"

Problem = Callable[[int, str], None]  # (line, message): a problem in the suite file itself
ReadDependency = Callable[[Path, int, str], "bytes | None"]  # (file, line, what): its bytes, or None (reported)


class VariantReader:
    """Reads a suite's variants; problems go to ``problem``, files through ``read_dependency`` (hashed with the suite)."""

    def __init__(self, folder: Path, policy: SuitePolicy, problem: Problem, read_dependency: ReadDependency) -> None:
        self.dir = folder
        self.policy = policy
        self.problem = problem
        self._read_dependency = read_dependency

    def read(self, doc: LineDict) -> list[PromptVariant]:
        """``prompts:`` in order, then ``prompts_from:``'s files."""
        variants: list[PromptVariant] = []
        prompts = doc.get("prompts")
        if prompts is not None:
            for name, prompt in prompts.items():
                variants.append(PromptVariant(name, message_templates(prompt), prompts.key_lines[name]))
        if "prompts_from" in doc:
            variants.extend(self._prompts_from(doc["prompts_from"], doc.key_lines["prompts_from"], variants))
        return variants

    def _prompts_from(self, folder: str, line: int, existing: list[PromptVariant]) -> list[PromptVariant]:
        root = (self.dir / folder).resolve()
        if not self.policy.allows(root):
            self.problem(line, f"prompts_from: folder {folder!r} lies outside the project ({', '.join(map(str, self.policy.roots))}; "
                         f"it resolves to {root}); list extra folders in [tool.promptcheck] allow_paths")  # fmt: skip
            return []
        if not root.is_dir():
            self.problem(line, f"prompts_from: folder {folder!r} not found (looked in {root}); {_RELATIVE}")
            return []
        taken = {v.name for v in existing}
        found = []
        for file in sorted(root.iterdir()):
            if file.suffix not in _PROMPT_SUFFIXES or not file.is_file():
                continue
            if file.stem in taken:
                self.problem(line, f"prompts_from: variant {file.stem!r} is also defined under `prompts:`")
                continue
            content = self._read_dependency(file, line, "prompts_from file")
            if content is not None:
                found.append(PromptVariant(file.stem, (MessageTemplate("user", content.decode("utf-8")),), line))
        if not found:
            self.problem(line, f"prompts_from: no prompt files ({', '.join(_PROMPT_SUFFIXES)}) in {folder!r}")
        return found


def message_templates(prompt: str | LineList) -> tuple[MessageTemplate, ...]:
    """A prompt as templates: a string is one user message; a list holds ``{role, content}`` or ``{role: content}``
    items (content a string, or a list of parts)."""
    if isinstance(prompt, str):
        return (MessageTemplate("user", prompt),)
    out = []
    for message in prompt:
        if "role" in message:
            out.append(MessageTemplate(message["role"], message["content"]))
        else:
            ((role, content),) = message.items()
            parts = part_templates(content) if isinstance(content, list) else ()
            out.append(MessageTemplate(role, "" if parts else content, parts))
    return tuple(out)
