"""serve's background prober: suspect nodes are probed here, so no request pays for it.

Requests skip a suspect node (CoreRunner's Contexts have `probe_inline` off); every
TICK this task looks for nodes whose window ended, claims each (so a CLI caller or a
second serve on the same state file does not probe it too) and sends hellos in
parallel. A node that answers is used again by the next request, and first gets the
versions it missed while down (versionsync.converge: a rollback it did not take).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from ..core import health, versionsync
from ..core.context import Context
from ..core.invoke import CONNECT_TIMEOUT
from ..errors import FaasctlError

log = logging.getLogger("faasctl.api")
TICK = 0.25  # seconds between looks at the health table (a 1 s window ends at most this late)


class Prober:
    def __init__(self, template: Context) -> None:
        self.template = template
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faasctl-prober")
        self._ctx: Context | None = None  # made in the prober's thread: it owns a sqlite3 connection
        self._stop = asyncio.Event()

    def sweep(self) -> list[str]:
        """Probe every node whose window has ended; the names of those that are back."""
        if self._ctx is None:
            self._ctx = Context(self.template.settings)
        ctx = self._ctx
        if not ctx.settings.state_url and not ctx.settings.state_path.exists():
            return []
        conn = ctx.fast
        probes = []
        for name in health.due(conn):
            row = conn.execute("SELECT * FROM node WHERE name=?", (name,)).fetchone()
            if row is None:
                health.record_success(conn, name)  # a removed node: forget its health too
            elif health.claim_probe(conn, name):
                node = dict(row)
                probes.append(health.Probe(node, ctx.client(node).endpoint, ctx.identity(), CONNECT_TIMEOUT))
        back = []
        for probe in probes:
            probe.wait(CONNECT_TIMEOUT + 1.0)
            if probe.settle(conn):
                back.append(probe.node["name"])
        if back:
            synced = versionsync.converge(ctx, back)
            for name, error in synced["failed"].items():
                log.warning("node %s answers again but could not be brought up to date: %s", name, error)
        return back

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():  # ends with serve (stop())
            try:
                back = await loop.run_in_executor(self._pool, self.sweep)
                for name in back:
                    log.info("node %s answers again", name)
            except FaasctlError as exc:
                log.warning("node prober: %s", exc.message)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), TICK)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._ctx is not None:
            self._ctx.close()
