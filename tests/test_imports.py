"""The package's module-level imports form no cycle, and loading a config needs no torch.

A cycle that only works because one side imports inside a function hides the
layering; these tests read every module's top-level imports (``if
TYPE_CHECKING:`` blocks, which never run, are left out) and look for a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bench"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """The bench modules ``path`` imports when it is imported (a ``from bench.x import y`` that names a
    submodule counts as that submodule; a package import also runs its ``__init__``)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                break
            if isinstance(sub, ast.Import):
                found.update(a.name for a in sub.names if a.name in modules)
            elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                for alias in sub.names:
                    candidate = f"{sub.module}.{alias.name}"
                    found.add(candidate if candidate in modules else sub.module)
    return {m for m in found if m in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    graph = {}
    for name, path in paths.items():
        edges = _top_level_imports(path, modules)
        # Importing a.b.c runs the __init__ of a and a.b first.
        edges |= {".".join(e.split(".")[:i]) for e in edges for i in range(2, e.count(".") + 1)} & modules
        # A module's own ancestor packages are already being imported when it runs: not an edge.
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        graph[name] = edges - {name} - ancestors
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "bench.run" in graph and "bench.config" in graph["bench.tasks"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_loading_a_config_and_listing_heuristics_needs_no_torch():
    code = ("import sys, bench.config, bench.heuristics, bench.spaces; "
            "print(sorted(m for m in ('torch', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
