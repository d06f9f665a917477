"""Invocation policies: given the nodes that hold a function, the order to try them.

Pure functions of their inputs (the live facts are gathered by the caller), so each
policy is unit-tested without a network.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any


def pinned_nodes(nodes: Sequence[dict[str, Any]], selectors: Sequence[str]) -> list[dict[str, Any]]:
    """Nodes named in `selectors` or carrying a KEY=VALUE label among them; all if none."""
    if not selectors:
        return list(nodes)
    chosen = []
    for node in nodes:
        labels = node.get("labels") or {}
        for sel in selectors:
            key, eq, value = sel.partition("=")
            if (not eq and node["name"] == sel) or (eq and labels.get(key) == value):
                chosen.append(node)
                break
    return chosen


def in_service(nodes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodes not drained (`drained` as the fast path joins it: 1/0, or absent on an old file)."""
    return [node for node in nodes if not node.get("drained")]


def order(policy: str, nodes: Sequence[dict[str, Any]], *, last: str = "", function: str = "",
          loads: dict[str, float] | None = None, warm: dict[str, int] | None = None,
          rng: random.Random | None = None) -> list[dict[str, Any]]:
    """The nodes in the order a call should try them (the first reachable one wins)."""
    ranked = sorted(nodes, key=lambda n: n["name"])
    if not ranked:
        return []
    if policy == "random":
        (rng or random.Random()).shuffle(ranked)
        return ranked
    if policy == "least-loaded":
        loads = loads or {}
        return sorted(ranked, key=lambda n: (loads.get(n["name"], float("inf")), n["name"]))
    if policy == "warm-first":
        warm = warm or {}
        home = _home(ranked, function)
        return sorted(ranked, key=lambda n: (-min(warm.get(n["name"], 0), 1), n["name"] != home["name"], n["name"]))
    # round-robin (and pinned, which narrowed the set before): the node after the last one
    names = [n["name"] for n in ranked]
    start = (names.index(last) + 1) % len(ranked) if last in names else 0
    return ranked[start:] + ranked[:start]


def _home(ranked: list[dict[str, Any]], function: str) -> dict[str, Any]:
    """A stable home node per function (rendezvous hashing), so warmth accumulates."""
    import hashlib

    return max(ranked, key=lambda n: hashlib.sha256(f"{function}|{n['name']}".encode()).digest())
