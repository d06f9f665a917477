"""Nodes as every front end shows them (`node list`, `/v1/nodes`, the dashboard), and drain.

One function builds the rows so the CLI, the API and the dashboard cannot drift apart:
the stored node, its live status (asked only when its health allows, see `health`), its
suspect mark and whether it is drained. A module of its own because `health` imports
`nodes` (for the live status), so `nodes` cannot import `health` back.

Drained: placement gives the node no new calls (core.invoke), calls it runs already
finish, and an explicit `--node` of it is refused. The mark is a row in `node_drain`
(state.models.NodeDrain); draining twice, or undraining a node in service, changes nothing.
"""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import select

from ..errors import NotFound
from ..state.db import transaction
from ..state.models import Node, NodeDrain
from . import health, nodes, versionsync
from .context import Context


def drained(ctx: Context) -> dict[str, float]:
    """Drained node names, with when each was drained."""
    with transaction(ctx.engine) as s:
        return {row.node: row.since for row in s.exec(select(NodeDrain))}


def set_drained(ctx: Context, name: str, drain: bool = True) -> bool:
    """Drain (or undrain) a node; idempotent. True if the mark changed."""
    with transaction(ctx.engine) as s:
        if s.get(Node, name) is None:
            raise NotFound(f"no node named {name!r}", "see `faasctl node list` (or GET /v1/nodes)")
        row = s.get(NodeDrain, name)
        if drain and row is None:
            s.add(NodeDrain(node=name, since=time.time()))
            return True
        if not drain and row is not None:
            s.delete(row)
            return True
        return False


def gather(ctx: Context) -> list[dict[str, Any]]:
    """Per node: the stored `node`, its live `status`, its `health` row (None: healthy) and
    `drained_since` (None: in service). A down node is a row, never an error."""
    known = nodes.all_nodes(ctx)  # opens the state (an older file is migrated first)
    before = health.read_all(ctx.fast)
    live = {n["name"]: health.checked_status(ctx, n, before.get(n["name"])) for n in known}
    after = health.read_all(ctx.fast)
    marks = drained(ctx)
    stale = versionsync.out_of_date(ctx)
    return [{"node": n, "status": live[n["name"]], "health": after.get(n["name"]),
             "drained_since": marks.get(n["name"]), "out_of_date": stale.get(n["name"], [])} for n in known]


def flat(entry: dict[str, Any]) -> dict[str, Any]:
    """One `gather` entry as a NodeOut row: the stored node, then the agent's status reply
    (`up`, `running`, `warm`, `stem_cells`, ... or `up: false` and `error`), then
    `health.view` (`suspect`, ...), then `drained`, `drained_since` and `out_of_date` (the
    functions whose current version there is not the state's: versionsync.py)."""
    return {**entry["node"], **entry["status"], **health.view(entry["health"]),
            "drained": entry["drained_since"] is not None, "drained_since": entry["drained_since"],
            "out_of_date": entry["out_of_date"]}


def with_status(ctx: Context) -> list[dict[str, Any]]:
    """Every node as `/v1/nodes` and the dashboard show it (see `flat`)."""
    return [flat(entry) for entry in gather(ctx)]


def one(ctx: Context, name: str) -> dict[str, Any]:
    """One node's `gather` entry, asked at once even if marked down (`node status NAME`)."""
    node = nodes.get(ctx, name)
    live = health.checked_status(ctx, node, health.read_all(ctx.fast).get(name), force=True)
    return {"node": node, "status": live, "health": health.read_all(ctx.fast).get(name),
            "drained_since": drained(ctx).get(name), "out_of_date": versionsync.out_of_date(ctx).get(name, [])}
