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
