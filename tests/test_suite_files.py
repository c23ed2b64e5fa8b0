"""Files a suite names (file(), prompts_from, cases_from, json_schema): under the project, regular, capped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import PromptProject


def _suite(project: PromptProject, name: str, prompt: str, extra: str = "") -> None:
    project.suite(name, body=f'prompts:\n  p: "{prompt}"\n{extra}cases:\n  - id: a\n    assert: [{{contains: x}}]\n')


def test_reads_outside_the_project_are_refused(
    pytester: pytest.Pytester, project: PromptProject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Absolute paths, `../` escapes and symlinks out: each an error at its line, and nothing read."""
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text("TOP SECRET\n")
    (outside / "prompts").mkdir()
    (outside / "prompts" / "p.txt").write_text("hi")
    (outside / "rows.jsonl").write_text('{"id": "b"}\n')
    (outside / "schema.json").write_text("{}")
    escape = os.path.relpath(outside / "secret.txt", pytester.path)
    (pytester.path / "link.txt").symlink_to(outside / "secret.txt")
    _suite(project, "test_absolute", f"{{{{ file('{outside / 'secret.txt'}') }}}}")
    _suite(project, "test_dotdot", f"{{{{ file('{escape}') }}}}")
    _suite(project, "test_symlink", "{{ file('link.txt') }}")
    project.suite("test_folder", body=f"prompts_from: {outside / 'prompts'}\ncases:\n  - id: a\n")
    project.suite("test_rows", body=f"prompts: {{p: hi}}\ncases_from: {outside / 'rows.jsonl'}\n")
    project.suite("test_schema", body=f"prompts: {{p: hi}}\ncases:\n  - id: a\n    assert: [json_schema: {outside}/schema.json]\n")  # fmt: skip
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=6)
    fix = "*lies outside the project ({root}; it resolves to {target}); list extra folders in ?tool.promptcheck? allow_paths"
    root = pytester.path.resolve()
    result.stdout.fnmatch_lines_random([
        "test_absolute.prompts.yaml:2: prompt 'p': file(*secret.txt')" + fix.format(root=root, target=outside / "secret.txt"),
        f"test_dotdot.prompts.yaml:2: prompt 'p': file('{escape}')*lies outside the project*",
        "test_symlink.prompts.yaml:2: prompt 'p': file('link.txt')" + fix.format(root=root, target=outside / "secret.txt"),
        "test_folder.prompts.yaml:1: prompts_from: folder*lies outside the project*allow_paths",
        "test_rows.prompts.yaml:2: cases_from: file*rows.jsonl' lies outside the project*allow_paths",
        "test_schema.prompts.yaml:4: *`json_schema` file*schema.json' lies outside the project*allow_paths",
    ])  # fmt: skip
    assert "TOP SECRET" not in result.stdout.str()


def test_allow_paths_lets_a_shared_folder_in(
    pytester: pytest.Pytester, project: PromptProject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A folder outside the project is refused until `allow_paths` lists it; then it reads like the project's own."""
    shared = tmp_path_factory.mktemp("shared")
    (shared / "snippet.txt").write_text("x marks the spot")
    _suite(project, "test_shared", f"{{{{ file('{shared / 'snippet.txt'}') }}}}")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(errors=1)
    project.config(extra=f'allow_paths = ["{shared}"]')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_only_regular_files_of_bounded_size(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A FIFO, a device, a folder, an over-size file, an over-size suite: an error each, and no hang."""
    os.mkfifo(pytester.path / "pipe.txt")
    (pytester.path / "folder").mkdir()
    (pytester.path / "big.txt").write_text("x" * 200)
    project.config(extra='allow_paths = ["/dev"]\n[tool.promptcheck.limits]\nfile_bytes = 100\nsuite_bytes = 400')
    _suite(project, "test_fifo", "{{ file('pipe.txt') }}")
    _suite(project, "test_device", "{{ file('/dev/zero') }}")
    _suite(project, "test_dir", "{{ file('folder') }}")
    _suite(project, "test_big", "{{ file('big.txt') }}")
    _suite(project, "test_huge_suite", "hi", extra=f"description: {'y' * 400}\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=5)
    result.stdout.fnmatch_lines_random([
        "test_fifo.prompts.yaml:2: prompt 'p': file('pipe.txt') is a FIFO (named pipe), not a regular file*",
        "test_device.prompts.yaml:2: prompt 'p': file('/dev/zero') is a device, not a regular file*",
        "test_dir.prompts.yaml:2: prompt 'p': file('folder') is a directory, not a regular file*",
        "test_big.prompts.yaml:2: prompt 'p': file('big.txt') holds 200 bytes or more, over limits.file_bytes = 100;*",
        "test_huge_suite.prompts.yaml: suite 'test_huge_suite.prompts.yaml' holds * bytes or more, over limits.suite_bytes = 400;*",
    ])  # fmt: skip


def test_files_inside_the_project_still_read(pytester: pytest.Pytester, project: PromptProject) -> None:
    """file(), prompts_from, cases_from and a symlink inside the rootdir read as before; one outside does not."""
    (pytester.path / "prompts").mkdir()
    (pytester.path / "prompts" / "short.txt").write_text("{{ file('parts/x.txt') }}")
    (pytester.path / "parts").mkdir()
    (pytester.path / "parts" / "x.txt").write_text("x")
    (pytester.path / "alias.txt").symlink_to(Path("parts") / "x.txt")
    (pytester.path / "escape.txt").symlink_to("/etc/hostname")
    (pytester.path / "rows.jsonl").write_text('{"id": "b", "assert": [{"contains": "x"}]}\n')
    project.suite("test_inside", body="prompts_from: prompts\ncases_from: rows.jsonl\n")
    _suite(project, "test_alias", "{{ file('alias.txt') }}")
    _suite(project, "test_escape", "{{ file('escape.txt') }}")
    result = pytester.runpytest("-p", "no:cacheprovider", "--continue-on-collection-errors")
    result.assert_outcomes(passed=2, errors=1)


def test_parse_cache_rereads_dependencies_by_the_same_rules(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A cached suite whose file() target became a symlink to /dev/zero is refused on the next run, not read."""
    (pytester.path / "part.txt").write_text("x")
    _suite(project, "test_cached", "{{ file('part.txt') }}")
    pytester.runpytest().assert_outcomes(passed=1)  # the parse cache now holds the suite
    assert list(pytester.path.glob(".pytest_cache/d/promptcheck-suites/*.pickle"))
    (pytester.path / "part.txt").unlink()
    (pytester.path / "part.txt").symlink_to("/dev/zero")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["test_cached.prompts.yaml:2: prompt 'p': file('part.txt') lies outside the project*"])
