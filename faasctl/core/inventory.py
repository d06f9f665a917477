"""Inventory files: many SSH nodes in one TOML document (see inventory.example.toml).

A `[defaults]` table applies to every `[nodes.NAME]` table, which may override any field.
Unknown fields are refused (a typo such as `agnet_port` must not silently fall back to a
default), and relative key paths are read relative to the inventory file. What a field
means is NodeSpec's business (core/nodespec.py), shared with `node add`.
"""

from __future__ import annotations

from pathlib import Path

import tomllib

from ..errors import InvalidInput, NotFound
from .nodespec import NodeSpec


def load(path: Path) -> list[NodeSpec]:
    if not path.is_file():
        raise NotFound(f"inventory {path} does not exist", "start from inventory.example.toml")
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: {exc}", "fix the TOML syntax") from exc
    extra = set(doc) - {"defaults", "nodes"}
    if extra:
        raise InvalidInput(f"{path}: unknown top-level table(s) {', '.join(sorted(extra))}",
                           "an inventory has [defaults] and [nodes.NAME] tables")
    defaults = doc.get("defaults", {})
    nodes = doc.get("nodes", {})
    if not nodes:
        raise InvalidInput(f"{path} lists no nodes", "add a [nodes.NAME] table with host = \"...\"")
    return [NodeSpec.parse(name, {**defaults, **entry}, path.parent) for name, entry in nodes.items()]
