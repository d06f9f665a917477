"""The package map of docs/design.md, checked against the code's imports (lazy ones too).

Each package may import only the packages listed for it; a new arrow is either a
layering mistake or a change to the map, made in both places.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# package -> the other packages it may import (faasctl_agent: the agent, shared by both sides)
ALLOWED: dict[str, set[str]] = {
    "faasctl.errors": set(),
    "faasctl.config": set(),
    "faasctl.singlefile": set(),
    "faasctl.state": {"faasctl.config", "faasctl.errors", "faasctl_agent"},
    "faasctl.connectors": {"faasctl.config", "faasctl.errors"},
    "faasctl.agentclient": {"faasctl.errors", "faasctl_agent"},
    "faasctl.core": {"faasctl", "faasctl.config", "faasctl.errors", "faasctl.state", "faasctl.connectors",
                     "faasctl.agentclient", "faasctl_agent"},
    "faasctl.api": {"faasctl", "faasctl.config", "faasctl.errors", "faasctl.core", "faasctl_agent"},
    "faasctl.dashboard": {"faasctl", "faasctl.config", "faasctl.errors", "faasctl.core", "faasctl.api",
                          "faasctl_agent"},
    "faasctl.cli": {"faasctl", "faasctl.config", "faasctl.errors", "faasctl.core", "faasctl.state",
                    "faasctl.connectors", "faasctl.api", "faasctl.dashboard", "faasctl.singlefile"},
    "faasctl.__main__": {"faasctl.cli"},
    "faasctl": set(),
    "faasctl_agent": set(),
    "faasctl_agent.runner": set(),  # stdlib only: it runs inside any image with python3
}


def package(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "faasctl_agent":
        return "faasctl_agent.runner" if parts[1:2] == ["runner"] else "faasctl_agent"
    return ".".join(parts[:2])


def imports(path: Path, module: str) -> set[str]:
    """Every faasctl or faasctl_agent module `path` imports, at any depth of the file."""
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = base[:len(base) - node.level + 1] + ([node.module] if node.module else [])
                found.add(".".join(target))
                if not node.module:
                    found.update(".".join([*target, alias.name]) for alias in node.names)
            elif node.module:
                found.add(node.module)
    return {name for name in found if name.split(".")[0] in ("faasctl", "faasctl_agent")}


def modules() -> list[tuple[Path, str]]:
    found = []
    for root, prefix in ((REPO / "faasctl", REPO), (REPO / "agent" / "faasctl_agent", REPO / "agent")):
        for path in sorted(root.rglob("*.py")):
            name = ".".join(path.relative_to(prefix).with_suffix("").parts)
            found.append((path, name.removesuffix(".__init__")))
    return found


def test_every_import_follows_the_package_map() -> None:
    wrong = []
    seen = modules()
    assert len(seen) > 60  # the walk found the code
    for path, module in seen:
        own = package(module)
        assert own in ALLOWED, f"{module}: package {own} is not on the map"
        for target in imports(path, module):
            other = package(target) if target.split(".")[0] == "faasctl_agent" else _faasctl_package(target)
            if other != own and other not in ALLOWED[own]:
                wrong.append(f"{path.relative_to(REPO)} imports {target} ({own} -> {other})")
    assert wrong == []


def _faasctl_package(target: str) -> str:
    """`from .. import __version__` names faasctl.__version__, which is the package itself."""
    name = package(target)
    return "faasctl" if name == "faasctl.__version__" else name
