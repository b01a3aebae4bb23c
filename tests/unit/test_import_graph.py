"""The package's modules import each other without cycles, and the layers point one way
(``ui → relay → client → protocol ← runtime``)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "reactor_web"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports (type-checking imports included; packages' ``__init__``
    re-exports are not edges of their submodules)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if path.name == "__init__.py":
            continue
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                if target in modules and modules[target].name != "__init__.py" and target != name:
                    edges.add(target)
                    break
        graph[name] = edges
    return graph


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(" → ".join(c) for c in cycles)


def test_the_protocol_layer_imports_no_other_layer() -> None:
    graph = import_graph()
    for name, edges in graph.items():
        if name.startswith("reactor_web.protocol."):
            assert all(e.startswith("reactor_web.protocol.") for e in edges), (name, edges)
        if name.startswith("reactor_web.runtime."):
            assert not any(
                e.startswith(("reactor_web.client.", "reactor_web.ui.", "reactor_web.relay.")) for e in edges
            )
