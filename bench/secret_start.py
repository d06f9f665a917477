"""faasctl secrets benchmark (issue 13): what a secret and an environment add to a start.

A function with a secret starts as root, gets a secrets tmpfs, and its runner writes the
file and drops privileges before loading the function; one without starts as 65534.
Samples alternate between the two (A B B A A B...) so a noisy, shared machine and the
order weigh on both alike; the agent's own start time (`startMs` of the call record) is
shown beside the wall time. Cold: calls of a `--preload none` function (each call is a new container).
Prewarm: the first call of a freshly deployed `--preload runtime` function (a stem cell
is specialised). Baseline: a raw `docker run --rm --network none` of the same image, in
the same run.

    .venv/bin/python bench/secret_start.py -n 9
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchlib import CLI, ROOT, Row, log, pct, report, sh
from measure import raw_docker_run

READS = ("import os\n\ndef handle(params):\n    d = '/var/run/secrets/faasctl'\n"
         "    return sorted(os.listdir(d)) if os.path.isdir(d) else []\n")
CONFIG = ("--secret", "bench-token", "--env", "BENCH=1")


def deploy(env: dict[str, str], src: Path, name: str, *opts: str) -> None:
    sh([str(CLI), "fn", "deploy", name, str(src), "--runtime", "python", "--handler", "main:handle", *opts], env)


def idle_stems(env: dict[str, str]) -> int:
    return int(sum(json.loads(sh([str(CLI), "node", "status", "local", "--json"], env))["stem_cells"].values()))


def run(args: argparse.Namespace) -> tuple[list[Row], str]:
    from faasctl.config import Settings
    from faasctl.core.context import Context
    from faasctl.core.invoke import invoke

    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-secrets-"))
    home = tmp / "home"
    env = {**os.environ, "FAASCTL_HOME": str(home)}
    src = tmp / "fn"
    src.mkdir()
    (src / "main.py").write_text(READS)
    (tmp / "value").write_bytes(os.urandom(32).hex().encode())
    rows: list[Row] = []
    try:
        sh([str(CLI), "node", "add", "local"], env)
        sh([str(CLI), "runtime", "add", "python", "--from", str(ROOT / "runtimes" / "python")], env)
        sh([str(CLI), "secret", "set", "bench-token", "--from-file", str(tmp / "value")], env)
        image = next(r["image"] for r in json.loads(sh([str(CLI), "runtime", "list", "--json"], env)))
        log(f"raw docker run x{args.n}")
        raw = statistics.median(raw_docker_run(image, args.n))
        rows.append(Row("raw `docker run --rm --network none` (median)", raw * 1e3, "ms", note=f"n={args.n}"))
        ctx = Context(Settings(home=home))
        deploy(env, src, "cold-plain", "--preload", "none")
        deploy(env, src, "cold-secret", "--preload", "none", *CONFIG)
        cold: dict[str, list[float]] = {"cold-plain": [], "cold-secret": []}
        starts: dict[str, list[float]] = {k: [] for k in ("cold-plain", "cold-secret", "plain", "secret")}
        log(f"cold calls, alternating, x{args.n} each")
        for i in range(args.n):
            for name in sorted(cold, reverse=bool(i % 2)):
                t0 = time.perf_counter()
                record = invoke(ctx, name, {})
                cold[name].append(time.perf_counter() - t0)
                starts[name].append(float(record["startMs"]))
                assert record["status"] == "DONE" and record["startKind"] == "cold", record
                assert json.loads(record["result"]) == (["bench-token"] if name == "cold-secret" else [])
        prewarm: dict[str, list[float]] = {"plain": [], "secret": []}
        log(f"prewarm first calls, alternating, x{args.n} each")
        for i in range(args.n):
            for kind in sorted(prewarm, reverse=bool(i % 2)):
                times, name = prewarm[kind], f"stem-{kind}-{i}"
                deploy(env, src, name, "--preload", "runtime", *(CONFIG if kind == "secret" else ()))
                deadline = time.monotonic() + 30
                while idle_stems(env) < 1 and time.monotonic() < deadline:
                    time.sleep(0.1)
                t0 = time.perf_counter()
                record = invoke(ctx, name, {})
                times.append(time.perf_counter() - t0)
                starts[kind].append(float(record["startMs"]))
                assert record["startKind"] == "prewarm", record
                sh([str(CLI), "fn", "rm", name], env)
        for what, a, b in (("cold call", "cold-plain", "cold-secret"), ("prewarm first call", "plain", "secret")):
            plain, secret = {**cold, **prewarm}[a], {**cold, **prewarm}[b]
            p, s = statistics.median(plain), statistics.median(secret)
            rows.append(Row(f"{what}, no env or secret (median)", p * 1e3, "ms", raw * 1e3,
                            note=f"n={len(plain)}, p90 {pct(plain, 90) * 1e3:.1f} ms, "
                                 f"agent start {statistics.median(starts[a]):.1f} ms"))
            rows.append(Row(f"{what}, 1 secret + 1 env (median)", s * 1e3, "ms", raw * 1e3,
                            note=f"n={len(secret)}, p90 {pct(secret, 90) * 1e3:.1f} ms, "
                                 f"agent start {statistics.median(starts[b]):.1f} ms"))
            rows.append(Row(f"{what}: with secret / without", s / p * 100, "%", note="same run, alternated"))
        ctx.close()
    finally:
        try:
            sh([str(CLI), "node", "rm", "local"], env, timeout=120)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows, image


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("-n", type=int, default=9, help="samples of each kind (median)")
    args = p.parse_args()
    started = time.time()
    rows, image = run(args)
    report(rows, f"image {image}; {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
