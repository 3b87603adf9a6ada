"""Import rules, read from the source with ``ast`` (nothing is imported):

* ``mt5gateway_server.webapi`` imports nothing else of ``mt5gateway_server`` (it is the
  MT5 Web API client; the gateway builds on it, never the other way round);
* no runtime import cycle among ``mt5gateway_server`` modules, apart from the named
  ones below. Imports under ``if TYPE_CHECKING:`` do not count; imports inside
  functions do (they run).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "server" / "src"
PACKAGE = "mt5gateway_server"
ROOM = "mt5gateway_server.webapi"

# Cycles outside the Web API room, each named with its way out (none today). An entry
# whose cycle is gone fails the test too, so the list only shrinks.
KNOWN_CYCLES: dict[str, frozenset[str]] = {}

Graph = dict[str, set[str]]


def _modules(src: Path, package: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(
    node: ast.AST, *, runtime_only: bool
) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            found.append(child)
        elif not (runtime_only and isinstance(child, ast.If) and _type_checking(child)):
            found.extend(_import_nodes(child, runtime_only=runtime_only))
    return found


def _imported(
    name: str, path: Path, known: dict[str, Path], *, runtime_only: bool
) -> set[str]:
    """The package modules ``name`` imports (``from pkg import mod`` is ``pkg.mod``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in _import_nodes(tree, runtime_only=runtime_only):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            parent = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parent, base] if base else parent)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            targets.add(sub if sub in known else base)
    return {t for t in targets if t in known and t != name}


def import_graph(src: Path, package: str, *, runtime_only: bool = True) -> Graph:
    known = _modules(src, package)
    return {
        name: _imported(name, path, known, runtime_only=runtime_only)
        for name, path in known.items()
    }


def cycles(graph: Graph) -> set[frozenset[str]]:
    """Groups of modules that all reach each other (strongly connected, > 1)."""

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(graph[node])
        return seen

    reaches = {name: reach(name) for name in graph}
    return {
        frozenset({name} | {o for o in reaches[name] if name in reaches[o]})
        for name in graph
        if name in reaches[name]
    }


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# ------------------------------------------------------------------------ the rules


def test_webapi_imports_nothing_else_of_the_gateway() -> None:
    graph = import_graph(SRC, PACKAGE, runtime_only=False)
    assert any(_inside(name, ROOM) for name in graph)  # the room was found
    leaks = {
        name: sorted(t for t in targets if not _inside(t, ROOM))
        for name, targets in graph.items()
        if _inside(name, ROOM)
    }
    assert {name: out for name, out in leaks.items() if out} == {}


def test_no_runtime_import_cycles_but_the_named_ones() -> None:
    found = cycles(import_graph(SRC, PACKAGE))
    known = set(KNOWN_CYCLES.values())
    assert sorted(map(sorted, found - known)) == []
    gone = [label for label, cycle in KNOWN_CYCLES.items() if cycle not in found]
    assert gone == [], "fixed: remove them from KNOWN_CYCLES"


# --------------------------------------------------------- the checker, on a fixture


def test_the_checker_sees_cycles_and_ignores_type_checking_imports(
    tmp_path: Path,
) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "b.py": "def f():\n    from . import a\n",  # runs when called: counts
        "c.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from pkg.sub import d\n"
        ),
        "sub/__init__.py": "from .d import X\n",
        "sub/d.py": "import pkg.c\nX = 1\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.b"] == {"pkg.a"}
    assert graph["pkg.c"] == set()
    assert graph["pkg.sub"] == {"pkg.sub.d"}
    assert cycles(graph) == {frozenset({"pkg.a", "pkg.b"})}
    typed = import_graph(tmp_path, "pkg", runtime_only=False)
    assert typed["pkg.c"] == {"pkg.sub.d"}
    assert cycles(typed) == {
        frozenset({"pkg.a", "pkg.b"}),
        frozenset({"pkg.c", "pkg.sub.d"}),
    }
