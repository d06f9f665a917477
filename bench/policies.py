"""faasctl preload-policy benchmark: what a function's first call costs under each policy,
and how a burst fares under a concurrency cap, next to raw baselines from the same run.

First calls: each sample deploys a new function (so nothing of it is warm) and times its
first call through the core: preload `none` (cold), `runtime` (a stem cell is
specialised: prewarm) and `function --min-warm 1` (warm). The baseline is a raw
`docker run` of the same image. Burst: calls to a function that sleeps 50 ms, capped
at 4 containers, from 32 callers at once; the ideal is the calls' total sleep over 4.

    .venv/bin/python bench/policies.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchlib import CLI, ROOT, Row, log, pct, report, sh
from measure import raw_docker_run

TRIVIAL = "def handle(params):\n    return 'ok'\n"
SLEEP_50MS = "import time\n\ndef handle(params):\n    time.sleep(0.05)\n    return 'ok'\n"


def deploy(env: dict[str, str], src: Path, name: str, *opts: str) -> None:
    sh([str(CLI), "fn", "deploy", name, str(src), "--runtime", "python", "--handler", "main:handle", *opts], env)


def idle_stems(env: dict[str, str]) -> int:
    status = json.loads(sh([str(CLI), "node", "status", "local", "--json"], env))
    return int(sum(status.get("stem_cells", {}).values()))


def first_calls(env: dict[str, str], home: str, src: Path, policy: str, n: int) -> tuple[list[float], Counter[str]]:
    """Wall time of the first call of n freshly deployed functions under one policy."""
    from faasctl.config import Settings
    from faasctl.core.context import Context
    from faasctl.core.invoke import invoke

    opts = {"cold": ("--preload", "none"), "prewarm": ("--preload", "runtime"),
            "warm": ("--preload", "function", "--min-warm", "1")}[policy]
    ctx = Context(Settings(home=Path(home)))
    times, kinds = [], Counter[str]()
    for i in range(n):
        name = f"first-{policy}-{i}"
        deploy(env, src, name, *opts)
        if policy == "prewarm":
            deadline = time.monotonic() + 30
            while idle_stems(env) < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
        t0 = time.perf_counter()
        record = invoke(ctx, name, {})
        times.append(time.perf_counter() - t0)
        kinds[str(record["startKind"])] += 1
        sh([str(CLI), "fn", "rm", name], env)
    return times, kinds


def burst(home: str, calls: int, callers: int) -> dict[str, Any]:
    """`calls` calls from `callers` threads at once; counts outcomes and the wall time."""
    from faasctl.config import Settings
    from faasctl.core.context import Context
    from faasctl.core.invoke import invoke
    from faasctl.errors import Busy

    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    todo = iter(range(calls))

    def worker() -> None:
        ctx = Context(Settings(home=Path(home)))
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            try:
                status = str(invoke(ctx, "burst", {})["status"])
            except Busy:
                status = "BUSY"
            with lock:
                outcomes[status] += 1

    threads = [threading.Thread(target=worker) for _ in range(callers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return {"wall": time.perf_counter() - t0, "outcomes": dict(outcomes)}


def run(args: argparse.Namespace) -> tuple[list[Row], str]:
    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-policies-"))
    home = str(tmp / "home")
    env = {**os.environ, "FAASCTL_HOME": home}
    trivial, sleepy = tmp / "trivial", tmp / "sleepy"
    for folder, body in ((trivial, TRIVIAL), (sleepy, SLEEP_50MS)):
        folder.mkdir()
        (folder / "main.py").write_text(body)
    rows: list[Row] = []
    try:
        sh([str(CLI), "node", "add", "local"], env)
        sh([str(CLI), "runtime", "add", "python", "--from", str(ROOT / "runtimes" / "python")], env)
        image = next(r["image"] for r in json.loads(sh([str(CLI), "runtime", "list", "--json"], env)))
        log(f"raw docker run x{args.n}")
        raw = statistics.median(raw_docker_run(image, args.n))
        rows.append(Row("raw `docker run --rm --network none` (median)", raw * 1e3, "ms", note=f"n={args.n}"))
        firsts: dict[str, float] = {}
        for policy in ("cold", "prewarm", "warm"):
            log(f"first call, {policy} x{args.n}")
            times, kinds = first_calls(env, home, trivial, policy, args.n)
            firsts[policy] = statistics.median(times)
            target, met = ("", None)
            if policy == "prewarm":
                target, met = "<= 1/10 of cold", firsts["prewarm"] <= firsts["cold"] / 10
            rows.append(Row(f"first call, {policy} (median wall, core invoke)", firsts[policy] * 1e3, "ms",
                            raw * 1e3, target, met, f"n={len(times)}, kinds {dict(kinds)}, "
                            f"p90 {pct(times, 90) * 1e3:.1f} ms"))
        rows.append(Row("prewarm first call as a share of cold", firsts["prewarm"] / firsts["cold"] * 100, "%",
                        target="<= 10 %", met=firsts["prewarm"] <= firsts["cold"] / 10))
        log(f"burst: {args.burst} calls of 50 ms, 32 callers, max concurrency 4")
        deploy(env, sleepy, "burst", "--max-concurrency", "4", "--queue-limit", "1000", "--min-warm", "4")
        result = burst(home, args.burst, 32)
        ideal = args.burst * 0.05 / 4
        rows.append(Row("burst wall time, max concurrency 4", result["wall"], "s", ideal,
                        note=f"baseline: ideal {args.burst} x 50 ms / 4; outcomes {result['outcomes']}"))
        rows.append(Row("burst throughput, max concurrency 4", args.burst / result["wall"], "inv/s", 4 / 0.05,
                        note="baseline: 4 containers x 20 calls/s"))
    finally:
        try:
            sh([str(CLI), "node", "rm", "local"], env, timeout=120)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows, image


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("-n", type=int, default=7, help="samples per first-call policy (median)")
    p.add_argument("--burst", type=int, default=400, help="calls in the burst")
    args = p.parse_args()
    started = time.time()
    rows, image = run(args)
    report(rows, f"image {image}; {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
