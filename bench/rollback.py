"""Issue 14 on one node: what a rollback costs when the old version is still loaded.

A rollback is a `deploy` of the old digest with activate (the agent's side of
`faasctl fn rollback`). When the old version's pool is still loaded (retired, its warm
container not yet timed out), the agent reuses it: no volume to fill, no container to
start. Samples alternate (raw `docker run`, rollback and its first call, a deploy of a
new version with one warm container) so the shared, noisy machine weighs on all alike.
Baseline: a raw `docker run --rm --network none` of the same image, in the same run.

    .venv/bin/python bench/rollback.py [-n 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import CLI, ROOT, Row, log, report, sh
from measure import raw_docker_run

NAME = "bench-rollback"
BODY = "def handle(params):\n    return {tag!r}\n"


def write(folder: Path, tag: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text(BODY.format(tag=tag))
    return folder


def deploy_args(rt: dict[str, Any], digest: str, version: int) -> dict[str, Any]:
    """What faasctl sends for a handler with preload function and one warm container."""
    return {"function": NAME, "digest": digest, "mode": "handler", "handler": "main:handle", "kind": "native",
            "version": version, "env": {}, "secrets": [], "preload": "function", "min_warm": 1,
            "runtime": {k: rt[k] for k in ("image", "path", "dependencies", "run", "handler", "runner")}}


def run(n: int, work: Path) -> list[Row]:
    from faasctl.config import Settings
    from faasctl.core import artifacts, nodes, runtimes
    from faasctl.core.context import Context

    env = {**os.environ, "FAASCTL_HOME": str(work / "home")}
    os.environ["FAASCTL_HOME"] = env["FAASCTL_HOME"]
    sh([str(CLI), "node", "add", "local"], env)
    try:
        sh([str(CLI), "runtime", "add", "python", "--from", str(ROOT / "runtimes" / "python")], env)
        ctx = Context(Settings(home=work / "home"))
        rt, node = runtimes.get(ctx, "python"), nodes.get(ctx, "local")
        client = ctx.client(node)

        def push(tag: str) -> str:
            art = artifacts.prepare(ctx, write(work / tag, tag))
            artifacts.push(ctx, node, art.digest)
            return art.digest

        def timed_deploy(digest: str, version: int) -> tuple[float, dict[str, Any]]:
            t0 = time.perf_counter()
            reply: dict[str, Any] = client.request("deploy", deploy_args(rt, digest, version), timeout=600)
            return time.perf_counter() - t0, reply

        v1, v2 = push("v1"), push("v2")
        timed_deploy(v1, 1)
        timed_deploy(v2, 2)
        image = str(rt["image"])
        raw: list[float] = []
        back: list[float] = []
        first: list[float] = []
        fresh: list[float] = []
        for i in range(n):
            log(f"round {i + 1}/{n}")
            raw += raw_docker_run(image, 1)
            target, version = (v1, 1) if i % 2 == 0 else (v2, 2)  # back and forth: each time a rollback
            took, reply = timed_deploy(target, version)
            assert reply["reused"] and reply["active"] == target, reply
            back.append(took)
            t0 = time.perf_counter()
            call = client.request("invoke", {"function": NAME, "params": {}}, timeout=60)
            first.append(time.perf_counter() - t0)
            assert call["start_kind"] == "warm" and call["digest"] == target, call
            took, reply = timed_deploy(push(f"new{i}"), 10 + i)  # a version never loaded: fill, start
            fresh.append(took)
            timed_deploy(target, version)  # the rollback target active again for the next round
        base = statistics.median(raw)
        return [
            Row("raw `docker run --rm --network none` (baseline)", base * 1000, "ms", note=f"median of {n}"),
            Row("rollback: deploy of a version still loaded (pool reused)", statistics.median(back) * 1000, "ms",
                base * 1000, "", None, f"median of {n}; max {max(back) * 1000:.1f} ms"),
            Row("first call after the rollback (warm, its old container)", statistics.median(first) * 1000, "ms",
                base * 1000, "", None, f"median of {n}"),
            Row("deploy of a new version (code volume, 1 warm container)", statistics.median(fresh) * 1000, "ms",
                base * 1000, "", None, f"median of {n}; what a rollback costs once the old pool is gone"),
        ]
    finally:
        sh([str(CLI), "node", "rm", "local"], env, timeout=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("-n", type=int, default=7, help="rounds (each: raw run, rollback, first call, new version)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="faasctl-bench-rollback-") as tmp:
        rows = run(args.n, Path(tmp))
    report(rows, f"{args.n} alternating rounds")


if __name__ == "__main__":
    main()
