"""What serve's routes cost without HTTP: the ASGI app called in process, CPU per request.

No HTTP parser, no sockets, no load generator: each GET route of `faasctl serve` (on a
state of 10^6 calls made by bench/fill_calls.py, no node needed) and a one-route FastAPI
app returning ["python"] are called 2,000 times each, and the process's CPU time (every
thread) is divided by the requests. Also the hand-off itself: a no-op run in a core
thread (`await core(fn)`) against one run on the event loop (`core.read(fn)`). This is
the breakdown behind bench/serve.py's table (docs/benchmarks.md).

    .venv/bin/python bench/serve_inproc.py [--calls 1000000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from benchlib import Row, report
from fill_calls import fill

ROUTES = [("/runtimes", b""), ("/functions", b""), ("/v1/runtimes", b""), ("/v1/calls", b"limit=20"),
          ("/v1/calls/5", b""), ("/v1/functions", b"")]


async def call(app: Any, path: str, query: bytes = b"") -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
             "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2), "state": {}}
    given = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        status = message.get("status", status)

    await app(scope, receive, send)
    return status


async def cpu_per(n: int, once: Callable[[], Awaitable[Any]]) -> float:
    """CPU microseconds per call of `once`, after 50 unmeasured ones."""
    for _ in range(50):
        await once()
    t0 = time.process_time()
    for _ in range(n):
        await once()
    return (time.process_time() - t0) / n * 1e6


async def measure(home: Path, n: int) -> list[Row]:
    from fastapi import FastAPI

    from faasctl.api import create_app
    from faasctl.config import Settings
    from faasctl.core.context import Context

    trivial = FastAPI()

    @trivial.get("/runtimes", response_model=list[str])
    async def runtimes() -> list[str]:
        return ["python"]

    rows: list[Row] = []
    app = create_app(Context(Settings(home=home)))
    async with app.router.lifespan_context(app):
        base = await cpu_per(n, lambda: call(trivial, "/runtimes"))
        rows.append(Row("trivial FastAPI route, GET /runtimes", base, "us CPU"))
        for path, query in ROUTES:
            status = await call(app, path, query)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
            many = n if path != "/v1/functions" else max(1, n // 20)  # its percentiles read 1,000 calls per function
            cost = await cpu_per(many, partial(call, app, path, query))
            rows.append(Row(f"serve GET {path}{'?' + query.decode() if query else ''}", cost, "us CPU", base))
        core = app.state.core
        if not hasattr(core, "read"):  # a faasctl before issue 15: every route hands off
            return rows
        hop = await cpu_per(n, lambda: core(lambda ctx: None))
        here = await cpu_per(n, lambda: asyncio.sleep(0, core.read(lambda ctx: None)))
        rows.append(Row("hand-off: a no-op in a core thread (`await core(fn)`)", hop, "us CPU", here,
                        note="baseline: the same no-op on the event loop (`core.read(fn)`)"))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--calls", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=2000)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-inproc-"))
    try:
        fill(tmp, args.calls, functions=4)
        rows = asyncio.run(measure(tmp, args.requests))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(rows, f"{args.requests} requests per route in process, {args.calls:,} calls in the state")


if __name__ == "__main__":
    main()
