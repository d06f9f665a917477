"""Node health shared by every faasctl process: the CLI, `serve` and the dashboard.

A node that failed is *suspect*: placement skips it until its window ends (1 s, doubling
to 60 s). When a window ends, exactly one process wins the right to probe it, by a
conditional UPDATE under BEGIN IMMEDIATE, which also extends the window as if the probe
failed; so a prober that dies or gives up (a hung node) still counts as a failure, and
the others keep skipping. A probe that succeeds deletes the row.

Plain sqlite3 on the fast-path connection, so `faasctl invoke` pays one LEFT JOIN to
read it and writes only when a node fails or recovers. The table is its own, so an
existing state file gains it without any change to `node`.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

from ..errors import StateError
from ..state import fastpath

BASE_WINDOW = 1.0
MAX_WINDOW = 60.0
PROBE_LEASE = 5.0  # how long a probe may take before its claim is shown as stale

# Same columns as models.NodeHealth; made here too, since the fast path never runs create_all.
DDL = ("CREATE TABLE IF NOT EXISTS node_health (node VARCHAR NOT NULL PRIMARY KEY, failures INTEGER NOT NULL,"
       " down_since FLOAT NOT NULL, last_error VARCHAR NOT NULL, last_failed_at FLOAT NOT NULL,"
       " skip_until FLOAT NOT NULL, probing_until FLOAT NOT NULL)")


def _window_sql(conn: Any, failures: str = "failures") -> str:
    """The window after `failures` failures, in SQL (failures counted before this one);
    scalar MIN is LEAST on PostgreSQL (the connection names it: state/pg.py)."""
    least = getattr(conn, "LEAST", "MIN")
    return f"{least}({MAX_WINDOW}, {BASE_WINDOW} * (1 << {least}({failures}, 16)))"


def window(failures: int) -> float:
    """Seconds a node is skipped after its `failures`-th consecutive failure."""
    if failures <= 0:
        return 0.0
    return min(MAX_WINDOW, BASE_WINDOW * float(2 ** min(failures - 1, 16)))


def suspect(node: dict[str, Any]) -> bool:
    """True if a node row (with the health columns of fastpath.target) has failed."""
    return bool(node.get("failures"))


def in_window(node: dict[str, Any], now: float | None = None) -> bool:
    return suspect(node) and float(node.get("skip_until") or 0) > (time.time() if now is None else now)


def _write(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> int:
    """One statement in its own write transaction; the table is made if this file lacks it."""
    for _ in range(2):  # bounded: the second try follows creating the table
        try:
            with fastpath.write(conn):
                return int(conn.execute(sql, args).rowcount)
        except StateError as exc:
            if "no such table" not in exc.message:
                raise
            with fastpath.write(conn):
                conn.execute(DDL)
    return 0


def record_failure(conn: sqlite3.Connection, node: str, error: str, now: float | None = None) -> None:
    """A call or probe did not reach `node`: count it and (re)start its window."""
    now = time.time() if now is None else now
    _write(conn, "INSERT INTO node_health (node, failures, down_since, last_error, last_failed_at, skip_until,"
                 " probing_until) VALUES (?, 1, ?, ?, ?, ?, 0) ON CONFLICT(node) DO UPDATE SET"
                 f" skip_until=excluded.last_failed_at + {_window_sql(conn, 'node_health.failures')},"
                 " failures=node_health.failures + 1,"
                 " last_error=excluded.last_error, last_failed_at=excluded.last_failed_at, probing_until=0",
           (node, now, error[:500], now, now + window(1)))


def claim_probe(conn: sqlite3.Connection, node: str, now: float | None = None) -> bool:
    """True for exactly one caller per ended window: that caller probes the node.

    The claim counts a failure in advance (the window grows), so a probe never finished
    leaves the node skipped; `record_probe_failure` then only fills in the error.
    """
    now = time.time() if now is None else now
    return _write(conn, f"UPDATE node_health SET skip_until=? + {_window_sql(conn)}, failures=failures + 1,"
                        " probing_until=? WHERE node=? AND failures > 0 AND skip_until <= ?",
                  (now, now + PROBE_LEASE, node, now)) == 1


def record_probe_failure(conn: sqlite3.Connection, node: str, error: str, now: float | None = None) -> None:
    """Fill in the claimed probe's error; the window runs from the failure, not the claim.

    A probe of a hung node can outlast its window (the connect timeout is 2 s, the second
    window too): counted from the claim, the node would be due again at once.
    """
    now = time.time() if now is None else now
    current = _window_sql(conn, f"{getattr(conn, 'GREATEST', 'MAX')}(failures - 1, 0)")
    _write(conn, f"UPDATE node_health SET last_error=?, last_failed_at=?, probing_until=0,"
                 f" skip_until={getattr(conn, 'GREATEST', 'MAX')}(skip_until, ? + {current}) WHERE node=?",
           (error[:500], now, now, node))


def record_success(conn: sqlite3.Connection, node: str) -> None:
    """The node answered: forget its failures (call only when it was suspect)."""
    _write(conn, "DELETE FROM node_health WHERE node=?", (node,))


def read_all(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Every suspect node's health row, by node name (empty if the table is not there yet)."""
    try:
        rows = conn.execute("SELECT * FROM node_health WHERE failures > 0").fetchall()
    except sqlite3.OperationalError:
        return {}
    return {row["node"]: dict(row) for row in rows}


def due(conn: sqlite3.Connection, now: float | None = None) -> list[str]:
    """Suspect nodes whose window has ended (what serve's prober looks at)."""
    now = time.time() if now is None else now
    return sorted(n for n, row in read_all(conn).items() if float(row["skip_until"]) <= now)


def view(row: dict[str, Any] | None) -> dict[str, Any]:
    """Health as shown by `node list --json` and `node status --json`."""
    if not row or not row.get("failures"):
        return {"suspect": False}
    return {"suspect": True, "down_since": row["down_since"], "failures": row["failures"],
            "last_error": row["last_error"], "last_failed_at": row["last_failed_at"],
            "next_probe_at": row["skip_until"], "probing": float(row.get("probing_until") or 0) > time.time()}


def down_message(name: str, row: dict[str, Any]) -> str:
    since = time.strftime("%H:%M:%S", time.localtime(float(row.get("down_since") or 0)))
    return f"node {name} is down since {since} (last error: {row.get('last_error') or 'unknown'})"


def describe(row: dict[str, Any], now: float | None = None) -> str:
    """One line for `node list`: since when, and when the next probe is due."""
    now = time.time() if now is None else now
    since = time.strftime("%H:%M:%S", time.localtime(float(row["down_since"])))
    wait = float(row["skip_until"]) - now
    due_in = f"in {wait:.0f} s" if wait > 0 else "due"
    return f"SUSPECT since {since}, next probe {due_in}"


class Probe:
    """The agent's hello in a thread of its own, so the caller's call goes on meanwhile.

    It has its own socket (sockets are not thread-safe) and never touches the state: the
    caller records the outcome with `settle` if the probe finished in time. One that did
    not (a hung node) is abandoned; its claim has counted the failure already.
    """

    def __init__(self, node: dict[str, Any], endpoint: str, identity: dict[str, str], timeout: float) -> None:
        import threading

        self.node = node
        self.error: str | None = None
        self.settled: bool | None = None
        self._args = (endpoint, identity, timeout)
        self._thread = threading.Thread(target=self._run, name=f"probe-{node['name']}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from ..agentclient import AgentClient
        from ..errors import FaasctlError, NotAuthorised

        endpoint, identity, timeout = self._args
        client = AgentClient(self.node["name"], endpoint, self.node["server_key"], identity["public"],
                             identity["secret"])
        try:
            client.request("hello", timeout=timeout, connect_timeout=timeout)
        except NotAuthorised:
            pass  # the node answered: it is up, it only refuses this operator's key
        except FaasctlError as exc:
            self.error = exc.message
        except Exception as exc:  # a probe must never kill its caller; the error is kept, and logged
            logging.getLogger("faasctl").warning("probe of node %s failed: %r", self.node["name"], exc)
            self.error = f"probe failed: {exc}"
        finally:
            client.close()

    def wait(self, seconds: float) -> bool:
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def settle(self, conn: sqlite3.Connection) -> bool | None:
        """Record a finished probe: True if the node is back, False if not, None if still running."""
        if self._thread.is_alive():
            return None
        if self.settled is None:
            if self.error is None:
                record_success(conn, self.node["name"])
            else:
                record_probe_failure(conn, self.node["name"], self.error)
            self.settled = self.error is None
        return self.settled


def checked_status(ctx: Any, node: dict[str, Any], row: dict[str, Any] | None, force: bool = False) -> dict[str, Any]:
    """A node's live status for `node list`/`node status`, recorded in its health.

    A suspect node is asked only when its window has ended and this caller wins the
    probe, or with `force` (`node status NAME`); otherwise its last error is shown.
    """
    from .nodes import status

    conn, name = ctx.fast, node["name"]
    claimed = bool(row) and not force and claim_probe(conn, name)
    if row and not force and not claimed:
        return {"name": name, "up": False, "error": str(row["last_error"])}
    live = status(ctx, node)
    if live["up"]:
        if row:
            record_success(conn, name)
    elif claimed:
        record_probe_failure(conn, name, str(live.get("error") or "no answer"))
    else:
        record_failure(conn, name, str(live.get("error") or "no answer"))
    return live
