"""Suites that name files outside the project, or files that are no files: each refused at its line.

A suite's paths are the suite's word: ``/etc/passwd``, ``../`` escapes and symlinks out are refused
(``allow_paths`` lets a folder in), FIFOs, devices and directories are not read at all.
"""

from __future__ import annotations

from . import Hostile

_OUTSIDE = "*lies outside the project (*; it resolves to {}); list extra folders in ?tool.promptcheck? allow_paths"
_CASES = "cases:\n  - id: one\n"


def _prompt(template: str) -> str:
    return f'prompts:\n  p: "{template}"\n{_CASES}'


def _entry(
    name: str, suite: str, expect: str, *, setup: tuple[str, ...] = (), note: str = "", lint: bool = False
) -> Hostile:
    return Hostile(
        name=name,
        files={"test_x.prompts.yaml": suite},
        expect=(expect,),
        setup=setup,
        command="promptcheck" if lint else "pytest",
        args=("lint",) if lint else (),
        timeout=30,
        note=note,
    )


ENTRIES: list[Hostile] = [
    _entry("file_absolute_path", _prompt("{{ file('/etc/passwd') }}"),
           "test_x.prompts.yaml:2: prompt 'p': file('/etc/passwd')" + _OUTSIDE.format("/etc/passwd"),
           note="an absolute path sends the file to the model"),
    _entry("file_dotdot_escape", _prompt("{{ file('../../../../../../../../etc/passwd') }}"),
           "test_x.prompts.yaml:2: prompt 'p': file('../../../../../../../../etc/passwd')" + _OUTSIDE.format("/etc/passwd"),
           note="`../` climbs out of the project"),
    _entry("file_dotdot_escape_lint", _prompt("{{ file('../../../../../../../../etc/hostname') }}"),
           "test_x.prompts.yaml:2: prompt 'p': file(*" + _OUTSIDE.format("/etc/hostname"), lint=True,
           note="lint reads the same way"),
    _entry("file_symlink_out", _prompt("{{ file('notes.txt') }}"),
           "test_x.prompts.yaml:2: prompt 'p': file('notes.txt')" + _OUTSIDE.format("/etc/passwd"),
           setup=("ln -s /etc/passwd notes.txt",), note="an innocent name, a symlink to outside"),
    _entry("file_fifo", _prompt("{{ file('pipe.txt') }}"),
           "test_x.prompts.yaml:2: prompt 'p': file('pipe.txt') is a FIFO (named pipe), not a regular file*",
           setup=("mkfifo pipe.txt",), note="opening a FIFO for reading blocks until a writer comes"),
    _entry("file_directory", _prompt("{{ file('sub') }}"),
           "test_x.prompts.yaml:2: prompt 'p': file('sub') is a directory, not a regular file*",
           setup=("mkdir sub",), note="a folder is no text"),
    _entry("prompts_from_outside", f"prompts_from: /etc\n{_CASES}",
           "test_x.prompts.yaml:1: prompts_from: folder '/etc'" + _OUTSIDE.format("/etc"),
           note="every .txt/.md under /etc as a prompt"),
    _entry("cases_from_outside", "prompts: {p: hi}\ncases_from: ../../../../../../../../etc/passwd\n",
           "test_x.prompts.yaml:2: cases_from: file '../../../../../../../../etc/passwd'" + _OUTSIDE.format("/etc/passwd"),
           note="a case file outside the project"),
    _entry("cases_from_symlink_device", "prompts: {p: hi}\ncases_from: rows.jsonl\n",
           "test_x.prompts.yaml:2: cases_from: file 'rows.jsonl'" + _OUTSIDE.format("/dev/zero"),
           setup=("ln -s /dev/zero rows.jsonl",), note="an endless device behind a case file's name"),
    _entry("json_schema_outside", f"prompts: {{p: hi}}\n{_CASES}    assert: [json_schema: /etc/passwd]\n",
           "test_x.prompts.yaml:4: ?case 'one'? `json_schema` file '/etc/passwd'" + _OUTSIDE.format("/etc/passwd"),
           note="a schema file outside the project"),
    _entry("json_schema_file_ref", f"prompts: {{p: hi}}\n{_CASES}    assert: [json_schema: {{$ref: 'file:///etc/passwd'}}]\n",
           "test_x.prompts.yaml:4: ?case 'one'? `json_schema`: `$ref` 'file:///etc/passwd' points outside the schema;*",
           note="a schema whose $ref names a file (or a URL) outside it"),
]  # fmt: skip
