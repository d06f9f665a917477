"""`faasctl serve` under load, next to references measured in the same run (issue 15).

The load comes from wrk (a C client, two threads, so the client is not the bottleneck),
on loopback, each phase bounded by `wrk -d`. References: a trivial FastAPI route
returning ["python"] on uvicorn with the same settings serve uses (started by this
bench), and core `invoke()` in this process at the same concurrency. The state holds
10^6 finished calls (written through the state layer, bench/fill_calls.py) before
serve starts, so the GET routes are measured on a big file.

    .venv/bin/python bench/serve.py                  # table (markdown)
    .venv/bin/python bench/serve.py --workers 2      # serve --workers 2 (the references stay one process)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchlib import CLI, COLD_FN, HANDLER, WARM_FN, Row, cpu_seconds, log, pct, platform_up, report
from fill_calls import add_calls
from measure import core_caller

import faasctl

REFERENCE = """
import sys
import uvicorn
from fastapi import FastAPI
app = FastAPI()
@app.get("/runtimes", response_model=list[str])
async def runtimes() -> list[str]:
    return ["python"]
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level=sys.argv[2], proxy_headers=False)
"""
# wrk's own summary as one JSON line (latencies in microseconds); `status` counts non-2xx/3xx.
DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nJSON {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,'
    .. '"p50":%d,"p99":%d,"max":%d}\\n', summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def wrk(url: str, seconds: float, connections: int, lua: Path, threads: int = 2) -> dict[str, Any]:
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout",
                          "30s", "-s", str(lua), url], capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[-400:]} {out.stdout[-400:]}")
    data: dict[str, Any] = json.loads(line[5:])
    data["rate"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


def lua_file(folder: Path, name: str, method: str = "GET", body: Any = None) -> Path:
    text = DONE_LUA
    if body is not None:
        text = (f'wrk.method = "{method}"\nwrk.body = {json.dumps(json.dumps(body))}\n'
                'wrk.headers["Content-Type"] = "application/json"\n') + text
    path = folder / f"{name}.lua"
    path.write_text(text)
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server under test: its URL, and the CPU its processes (workers included) used."""

    def __init__(self, url: str, pid: int) -> None:
        self.url, self.pid = url, pid

    def cpu(self) -> float:
        pids, total = [self.pid], 0.0
        while pids:
            pid = pids.pop()
            try:
                total += cpu_seconds(pid)
                pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except OSError:
                continue
        return total

    def load(self, path: str, seconds: float, connections: int, lua: Path, threads: int = 2) -> dict[str, Any]:
        """wrk against it, with its CPU per request (ms): steadier than the rate on a busy machine."""
        cpu0 = self.cpu()
        got = wrk(self.url + path, seconds, connections, lua, threads)
        got["cpu_ms"] = (self.cpu() - cpu0) * 1e3 / max(1, got["requests"])
        return got


@contextmanager
def server(argv: list[str], env: dict[str, str], port: int, logfile: Path) -> Iterator[Server]:
    """A server process on loopback, waited for (bounded), stopped after."""
    import httpx

    with logfile.open("w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[:3]} did not start: {logfile.read_text()[-800:]}")
            try:
                httpx.get(url + "/runtimes", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Server(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def async_caller(home: str) -> Callable[[], str]:
    """Core invoke(is_async=True): what POST /invokeFunction does behind HTTP."""
    from faasctl.config import Settings
    from faasctl.core.context import Context
    from faasctl.core.invoke import invoke

    ctx = Context(Settings(home=Path(home)))

    def call() -> str:
        return str(invoke(ctx, WARM_FN, {}, is_async=True)["status"])

    return call


def core_load(home: str, concurrency: int, seconds: float, is_async: bool = False) -> dict[str, Any]:
    """Core invoke() of the warm function from `concurrency` threads in this process
    (each with its own Context, as serve's core threads): rate and latencies."""
    calls = [async_caller(home) if is_async else core_caller(home, WARM_FN) for _ in range(concurrency)]
    times: list[list[float]] = [[] for _ in range(concurrency)]
    stop, errors = threading.Event(), []
    start = threading.Barrier(concurrency + 1)

    def loop(i: int) -> None:
        start.wait()
        try:
            while not stop.is_set():
                t0 = time.perf_counter()
                calls[i]()
                times[i].append(time.perf_counter() - t0)
        except BaseException as exc:  # reported after the clock stops
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(60)
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} core caller(s) failed: {errors[0]!r}")
    flat = [x for part in times for x in part]
    return {"rate": len(flat) / wall, "p50": pct(flat, 50) * 1e6, "p99": pct(flat, 99) * 1e6,
            "max": max(flat) * 1e6, "requests": len(flat)}


def ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


def lat(d: dict[str, Any]) -> str:
    bad = f", {d['non2xx']} non-2xx, {d['errors']} socket errors" if d.get("non2xx") or d.get("errors") else ""
    cpu = f", CPU {d['cpu_ms']:.2f} ms/req" if "cpu_ms" in d else ""
    return f"p50 {ms(d['p50'])}, p99 {ms(d['p99'])}, max {ms(d['max'])}{cpu}{bad}"


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-serve-"))
    home, fn_dir = str(tmp / "home"), tmp / "fn"
    fn_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    c, d = args.connections, args.seconds
    try:
        with platform_up(home, fn_dir, c) as up:
            env = {**up["env"], "PYTHONUNBUFFERED": "1"}
            log(f"filling the state with {args.calls:,} calls")
            add_calls(Path(home) / "state.db", args.calls, [WARM_FN, COLD_FN])
            ref_port, serve_port = free_port(), free_port()
            serve_argv = [str(CLI), "serve", "--port", str(serve_port), "--log-level", args.log_level,
                          *(["--workers", str(args.workers)] if args.workers > 1 else [])]
            ref_argv = [sys.executable, "-c", REFERENCE, str(ref_port), args.log_level]
            with server(ref_argv, env, ref_port, tmp / "ref.log") as ref, \
                    server(serve_argv, env, serve_port, tmp / "serve.log") as srv:
                get = lua_file(tmp, "get")
                log("warm-up")
                for url in (ref.url + "/runtimes", *(srv.url + p for p in ("/runtimes", "/functions", "/v1/calls"))):
                    wrk(url, 1, c, get)
                for path in ("/runtimes", "/functions", "/v1/calls?limit=20"):
                    log(f"GET {path}: reference, then serve, {d:g} s each at c={c}")
                    base = ref.load("/runtimes", d, c, get)
                    got = srv.load(path, d, c, get)
                    rows.append(Row(f"GET {path}, c={c}", got["rate"], "req/s", base["rate"],
                                    ">= 0.7x trivial route", got["rate"] >= 0.7 * base["rate"] and not got["non2xx"],
                                    f"serve {lat(got)}; trivial {lat(base)}"))
                sync = lua_file(tmp, "sync", "POST", {"params": {}})
                path = f"/v1/functions/{WARM_FN}/invocations"
                log(f"sync invoke: core invoke() then serve, {d:g} s each at c={c}")
                core_load(home, c, 1)
                srv.load(path, 1, c, sync)
                core = core_load(home, c, d)
                got = srv.load(path, d, c, sync)
                rows.append(Row(f"POST /v1/functions/{WARM_FN}/invocations (sync), c={c}", got["rate"], "req/s",
                                core["rate"], ">= 0.7x core invoke()",
                                got["rate"] >= 0.7 * core["rate"] and not got["non2xx"],
                                f"serve {lat(got)}; core invoke() {lat(core)}"))
                tail = got["p99"] / got["p50"]
                rows.append(Row("  its p99 / p50", tail, "x", target="<= 4x", met=tail <= 4,
                                note=f"core invoke() alone: {core['p99'] / core['p50']:.1f}x"))
                one = srv.load(path, d, 1, sync, threads=1)
                rows.append(Row(f"POST /v1/functions/{WARM_FN}/invocations (sync), c=1", one["rate"], "req/s",
                                note=lat(one)))
                log(f"core invoke(is_async=True), {d:g} s at c={c}: the accept behind the HTTP")
                accepted = core_load(home, c, d, is_async=True)
                time.sleep(d)  # the agent runs the accepted calls: let it finish before the next phase
                accept = lua_file(tmp, "accept", "POST", {"funcName": WARM_FN, "params": {}})
                log(f"POST /invokeFunction: reference, then serve, {d:g} s each at c={c}")
                base = ref.load("/runtimes", d, c, get)
                got = srv.load("/invokeFunction", d, c, accept)
                rows.append(Row(f"POST /invokeFunction (async, accept only), c={c}", got["rate"], "req/s",
                                base["rate"], ">= 0.7x trivial route",
                                got["rate"] >= 0.7 * base["rate"] and not got["non2xx"],
                                f"serve {lat(got)}; trivial {lat(base)}"))
                rows.append(Row(f"  core invoke(is_async=True) in process, c={c}", accepted["rate"], "calls/s",
                                note=f"not a target: what serve's accept can reach at most here; {lat(accepted)}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--seconds", type=float, default=5.0, help="seconds per measured wrk phase")
    p.add_argument("--connections", type=int, default=16, help="concurrent connections (and core threads)")
    p.add_argument("--calls", type=int, default=1_000_000, help="finished calls in the state before serve starts")
    p.add_argument("--workers", type=int, default=1, help="serve --workers N")
    p.add_argument("--log-level", default="warning", help="uvicorn log level for serve and the reference alike")
    args = p.parse_args()
    load = Path("/proc/loadavg").read_text().split()[0]
    started = time.time()
    rows = run(args)
    report(rows, f"serve --workers {args.workers}, log level {args.log_level}, wrk {args.seconds:g} s per phase, "
           f"{args.calls:,} calls in the state; load before {load}; {time.time() - started:.0f} s; "
           f"faasctl from {Path(faasctl.__file__ or '').parent}")


if __name__ == "__main__":
    main()
