"""What a handler kind costs on the warm path (issue 13), next to raw baselines of the same run.

Warm calls through the agent client to a native, a Lambda and an OpenFaaS python3-http
function (each kept warm, preload function), in alternating rounds so that load from
other processes falls on all of them alike; the raw baseline is one line echoed by a
python process in a running container with a function's limits. Then HTTP through a
real `faasctl serve`: POST /v1/functions/NAME/invocations to the native function (the
API's own call route, the baseline) next to POST /function/NAME to the native, Lambda
and python3-http functions.

    .venv/bin/python bench/kinds.py            # table (markdown)
    .venv/bin/python bench/kinds.py --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import httpx
from benchlib import CLI, HANDLER, Row, log, machine, pct, platform_up, sh, table
from measure import agent_caller, raw_roundtrip

KINDS = {
    "native": ("main.py", HANDLER, ["--handler", "main:handle"]),
    "lambda": ("lambda_function.py", "def lambda_handler(event, context):\n    return 'ok'\n", []),
    "openfaas-http": ("handler.py", "def handle(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n", []),
}


def deploy_kinds(tmp: Path, env: dict[str, str]) -> None:
    for kind, (file, text, extra) in KINDS.items():
        folder = tmp / kind
        folder.mkdir()
        (folder / file).write_text(text)
        sh([str(CLI), "fn", "deploy", f"k-{kind}", str(folder), "--runtime", "python", "--kind", kind,
            "--preload", "function", "--min-warm", "1", *extra], env)


def rounds(callers: dict[str, Callable[[], object]], n: int, repeat: int) -> dict[str, list[float]]:
    """`repeat` rounds of `n` timed calls per caller, the callers alternating each round."""
    times: dict[str, list[float]] = {name: [] for name in callers}
    for call in callers.values():
        for _ in range(20):
            call()
    for _ in range(repeat):
        for name, call in callers.items():
            for _ in range(n):
                t0 = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - t0)
    return times


def http_callers(url: str) -> dict[str, Callable[[], object]]:
    client = httpx.Client(base_url=url, timeout=30)

    def post(path: str, **kw: Any) -> Callable[[], object]:
        def call() -> object:
            resp = client.post(path, **kw)
            if resp.status_code != 200:
                raise RuntimeError(f"{path} answered {resp.status_code}: {resp.text[:300]}")
            return resp

        return call

    return {"v1 invocations (native)": post("/v1/functions/k-native/invocations", json={"params": {}}),
            "/function (native)": post("/function/k-native", json={}),
            "/function (lambda)": post("/function/k-lambda-http", json={}),
            "/function (openfaas-http)": post("/function/k-openfaas-http", json={})}


def run(args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-kinds-"))
    home, fn_dir = str(tmp / "home"), tmp / "fn"
    fn_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    rows: list[Row] = []
    cleanup: list[str] = []
    with platform_up(home, fn_dir, 4) as up:
        env = up["env"]
        deploy_kinds(tmp, env)
        proxy = tmp / "lambda-http"  # a Lambda that answers API Gateway's proxy response, for /function
        proxy.mkdir()
        (proxy / "lambda_function.py").write_text(
            "def lambda_handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n")
        sh([str(CLI), "fn", "deploy", "k-lambda-http", str(proxy), "--runtime", "python", "--kind", "lambda",
            "--preload", "function", "--min-warm", "1"], env)
        try:
            log("raw round trip")
            raw = raw_roundtrip(up["image"], args.calls * args.rounds, 30, cleanup)
            log("warm calls per kind through the agent client")
            warm = rounds({kind: agent_caller(home, f"k-{kind}") for kind in KINDS}, args.calls, args.rounds)
        finally:
            for name in cleanup:
                subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        base = statistics.median(raw) * 1000
        for kind, times in warm.items():
            rows.append(Row(f"warm call, {kind} (agent client) p50", statistics.median(times) * 1000, "ms", base,
                            note=f"p99 {pct(times, 99) * 1000:.2f} ms; baseline: raw attach round trip"))
        log("HTTP through faasctl serve")
        port = 39000 + int(time.time()) % 1000
        server = subprocess.Popen([sys.executable, "-m", "faasctl", "serve", "--port", str(port), "--log-level",
                                   "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(150):
                try:
                    httpx.get(f"{url}/openapi.json", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            http = rounds(http_callers(url), args.http_calls, args.rounds)
        finally:
            server.terminate()
            server.wait(15)
        v1 = statistics.median(http["v1 invocations (native)"]) * 1000
        for what, times in http.items():
            rows.append(Row(f"HTTP {what} p50", statistics.median(times) * 1000, "ms", v1,
                            note=f"p99 {pct(times, 99) * 1000:.2f} ms; baseline: v1 invocations, same run"))
    return rows, {"calls": args.calls, "http_calls": args.http_calls, "rounds": args.rounds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--calls", type=int, default=300, help="warm agent calls per kind per round")
    p.add_argument("--http-calls", type=int, default=100, help="HTTP calls per route per round")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = p.parse_args()
    load = Path("/proc/loadavg").read_text().split()[0]
    rows, info = run(args)
    info["machine"] = {**machine(), "loadavg_before": load}
    if args.json:
        print(json.dumps({"info": info, "rows": [{**asdict(r), "ratio": r.ratio} for r in rows]}, indent=2))
    else:
        print(f"load before {load}; {info['rounds']} alternating rounds")
        print(table(rows))


if __name__ == "__main__":
    main()
