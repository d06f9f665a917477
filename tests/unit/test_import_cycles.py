"""No import cycle in faasctl/ or the agent, counting lazy (function-level) imports too.

`from pkg import name` depends on the module pkg.name when there is one (as import
tools count it), else on pkg itself; every module also loads its parents' __init__, so
an edge to a package counts as an edge to its __init__.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTS = ((REPO / "faasctl", REPO), (REPO / "agent" / "faasctl_agent", REPO / "agent"))


def modules() -> dict[str, Path]:
    found = {}
    for root, prefix in ROOTS:
        for path in sorted(root.rglob("*.py")):
            name = ".".join(path.relative_to(prefix).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def edges(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            source = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                out.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source)
    return {name for name in out if name in known and name != module}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative: bounded by the graph)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_faasctl_or_the_agent() -> None:
    known = modules()
    assert len(known) > 60  # the walk found the code
    graph = {name: edges(name, path, known) for name, path in known.items()}
    assert graph["faasctl.api.app"] >= {"faasctl.api.seed", "faasctl.api.v1", "faasctl.api.prober"}  # lazy ones too
    assert cycles(graph) == []
