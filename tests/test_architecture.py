"""The package's import graph has no cycles, counting ``TYPE_CHECKING`` and function-level imports.

A cycle hidden behind a lazy import still couples two modules both ways: neither can be read,
tested or moved without the other. The graph is read from the source (``ast``), not by importing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import pytest_promptcheck

PACKAGE = Path(pytest_promptcheck.__file__).parent


def module_name(root: Path, path: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (``__import__`` strings too)."""
    modules = {module_name(root, p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(node, package, modules):
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _targets(node: ast.AST, package: list[str], modules: dict[str, Path]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        anchor = package[: len(package) - node.level + 1]
        base = ".".join([*anchor, node.module or ""]).rstrip(".") if node.level else (node.module or "")
        subs = [f"{base}.{alias.name}" for alias in node.names]
        yield from subs
        if not all(s in modules for s in subs):  # names defined by the module itself, not submodules of it
            yield base
    elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield first.value


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycles() -> None:
    """Every import counts: top level, under TYPE_CHECKING and inside functions."""
    assert cycles(import_graph(PACKAGE)) == []


@pytest.mark.parametrize(
    "importer, imported, how",
    [
        ("errors.py", "verdicts.evaluate", "typing"),  # the cycle the old errors.py had
        ("runs/record.py", "items.item", "function"),
        ("cli/paths.py", "cli.main", "string"),
    ],
)
def test_a_new_cycle_is_found(tmp_path: Path, importer: str, imported: str, how: str) -> None:
    """A copy of the package with one import added back (lazy, typing-only or as a string) has a cycle."""
    copy = tmp_path / PACKAGE.name
    for source in PACKAGE.rglob("*.py"):
        target = copy / source.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    absolute = f"{PACKAGE.name}.{imported}"
    added = {
        "typing": f"\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import {absolute}\n",
        "function": f"\n\ndef _late() -> None:\n    import {absolute}  # noqa\n",
        "string": f'\n\ndef _late() -> None:\n    __import__("{absolute}")\n',
    }[how]
    path = copy / importer
    path.write_text(path.read_text(encoding="utf-8") + added, encoding="utf-8")
    found = cycles(import_graph(copy))
    assert any(f"{PACKAGE.name}.{imported}" in cycle for cycle in found), found


# -- one way out to disk ----------------------------------------------------------------------------

WRITER_MODULES = {"outputs/artifacts.py"}  # every file the plugin writes goes through here, scrubbed
_WRITING_METHODS = {"write_text", "write_bytes", "mkstemp", "mkdtemp", "fdopen", "touch", "symlink_to"}
_WRITING_FUNCTIONS = {
    "os": {"replace", "rename", "renames", "open", "write", "link", "symlink"},
    "sqlite3": {"connect"},
    "json": {"dump"},
    "pickle": {"dump"},
    "marshal": {"dump"},
    "shutil": {"copy", "copy2", "copyfile", "copytree", "move"},
}


def writes_to_disk(root: Path) -> dict[str, list[str]]:
    """Module path -> the calls in it that write a file (``line: what``), outside :data:`WRITER_MODULES`."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative in WRITER_MODULES:
            continue
        hits = [f"{node.lineno}: {what}" for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if (what := _writing(node)) is not None]  # fmt: skip
        if hits:
            found[relative] = hits
    return found


def _writing(node: ast.AST) -> str | None:
    if isinstance(node, ast.ImportFrom) and node.module in _WRITING_FUNCTIONS:
        names = [a.name for a in node.names if a.name in _WRITING_FUNCTIONS[node.module]]
        return f"from {node.module} import {', '.join(names)}" if names else None
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        if owner == "os" and func.attr == "open" and _read_only_flags(node):
            return None  # os.open(path, os.O_RDONLY | ...): suites/files.py reads a suite's files that way
        if owner in _WRITING_FUNCTIONS and func.attr in _WRITING_FUNCTIONS[owner]:
            return f"{owner}.{func.attr}()"
        if func.attr in _WRITING_METHODS:
            return f".{func.attr}()"
        if func.attr == "open" and _writing_mode(node, 0, method=True):
            return ".open() for writing"
    if isinstance(func, ast.Name) and func.id == "open" and _writing_mode(node, 1):
        return "open() for writing"
    return None


_WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC", "O_TMPFILE"}


def _read_only_flags(call: ast.Call) -> bool:
    """Whether an ``os.open`` call's flags name ``O_RDONLY`` and no flag that writes or creates."""
    if len(call.args) < 2:
        return False
    names = {n.attr for n in ast.walk(call.args[1]) if isinstance(n, ast.Attribute)}
    names |= {n.value for n in ast.walk(call.args[1]) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return "O_RDONLY" in names and not names & _WRITE_FLAGS


def _writing_mode(call: ast.Call, position: int, *, method: bool = False) -> bool:
    """Whether the call's mode (positional or ``mode=``) writes, appends or creates; unknown modes count.

    A method's first argument counts only as a string (``ResponseCache.open(path)`` is no file mode).
    """
    mode = call.args[position] if len(call.args) > position else None
    if method and not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)):
        mode = None
    mode = next((k.value for k in call.keywords if k.arg == "mode"), mode)
    if mode is None:
        return False
    if not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)):
        return True  # a computed mode might write: route it through outputs/artifacts.py
    return any(flag in mode.value for flag in "wax+")


def test_only_the_artifact_module_writes_files() -> None:
    """No module but outputs/artifacts.py writes a file, so nothing reaches disk unscrubbed."""
    assert writes_to_disk(PACKAGE) == {}


@pytest.mark.parametrize(
    "added",
    [
        'Path("out.json").write_text("{}")',
        'open("out.txt", "a")',
        'Path("out.txt").open(mode="w")',
        'sqlite3.connect("cache.db")',
        "json.dump({}, handle)",
        'os.replace("a", "b")',
        'os.open("out.txt", os.O_RDONLY | os.O_CREAT)',
    ],
)
def test_a_new_writer_is_found(tmp_path: Path, added: str) -> None:
    """A copy of the package with one direct write added to outputs/html.py is caught."""
    copy = tmp_path / PACKAGE.name
    for source in PACKAGE.rglob("*.py"):
        target = copy / source.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    html = copy / "outputs" / "html.py"
    html.write_text(html.read_text(encoding="utf-8") + f"\n\ndef _leak(handle):\n    {added}\n", encoding="utf-8")
    assert list(writes_to_disk(copy)) == ["outputs/html.py"]
