"""faasctl invoke benchmark: every figure next to a raw baseline measured in the same run.

Absolute numbers depend on the machine; ratios to raw Docker measured a minute apart on
the same engine do not (much), so the design's targets are ratios where they can be.
One run: raw `docker run`, raw round trip to a process in a running container, then
faasctl's cold start, warm invoke (agent client and full core path), throughput at 1, 4
and 16 concurrent callers (c=16 next to raw attach throughput), a 10 MB result end to
end (next to the same bytes over a bare attach), and `faasctl invoke` / `faasctl --help`
as new processes.

It uses its own FAASCTL_HOME, a local node on loopback, and removes the node, its
containers and the raw containers at the end, also on failure.

    .venv/bin/python bench/invoke.py            # table (markdown)
    .venv/bin/python bench/invoke.py --json     # the same figures as JSON
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchlib import (
    CLI,
    COLD_FN,
    HANDLER,
    WARM_FN,
    Row,
    log,
    machine,
    pct,
    platform_up,
    sh,
    table,
    timed_runs,
    wait_no_containers,
)
from measure import (
    agent_caller,
    channel_kinds,
    core_caller,
    hello_caller,
    latencies,
    raw_docker_run,
    raw_roundtrip,
    throughput,
)
from raw_baselines import raw_large, raw_throughput, timed

BIG_FN, BIG_MB = "bench-big", 10


def run(args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-"))
    home, fn_dir = str(tmp / "home"), tmp / "fn"
    fn_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    big_dir = tmp / "big"
    big_dir.mkdir()
    (big_dir / "main.py").write_text(f"def handle(params):\n    return 'x' * {BIG_MB * 1_000_000}\n")
    raw_containers: list[str] = []
    info: dict[str, Any] = {}
    try:
        with platform_up(home, fn_dir, 16) as up:
            image, env = up["image"], up["env"]
            info["image"] = image
            log(f"raw docker run x{args.docker_runs}")
            docker_run = statistics.median(raw_docker_run(image, args.docker_runs))
            rows.append(Row("raw `docker run --rm --network none` (median)", docker_run * 1e3, "ms",
                            note=f"n={args.docker_runs}"))
            log(f"raw container round trip x{args.roundtrips}")
            rt = raw_roundtrip(image, args.roundtrips, args.phase_seconds, raw_containers)
            rt50, rt99 = pct(rt, 50), pct(rt, 99)
            rows.append(Row("raw container round trip p50", rt50 * 1e3, "ms", note=f"n={len(rt)}"))
            rows.append(Row("raw container round trip p99", rt99 * 1e3, "ms", note=f"n={len(rt)}"))

            log(f"cold start x{args.cold_runs}")
            cold_call = core_caller(home, COLD_FN)
            colds, kinds = [], Counter[str]()
            for _ in range(args.cold_runs):
                wait_no_containers(f"faasctl.function={COLD_FN}")
                t0 = time.perf_counter()
                kinds[cold_call()] += 1
                colds.append(time.perf_counter() - t0)
            cold = statistics.median(colds)
            rows.append(Row("cold start, preload none, core invoke() (median wall)", cold * 1e3, "ms", docker_run * 1e3,
                            "<= 1.15x raw docker run", cold <= 1.15 * docker_run,
                            f"n={len(colds)}, kinds {dict(kinds)}"))

            log(f"agent hello round trip x{args.warm_calls}")
            hellos, _ = latencies(hello_caller(home), args.warm_calls, args.phase_seconds)
            rows.append(Row("agent `hello` round trip p50 (ZeroMQ+CURVE+asyncio, no container)",
                            pct(hellos, 50) * 1e3, "ms", rt50 * 1e3, note=f"n={len(hellos)}; not a target, a "
                            "decomposition: the agent's fixed cost per request"))
            for label, make, n in (("agent client", agent_caller, args.warm_calls),
                                   ("core invoke() + state writes", core_caller, args.core_calls)):
                log(f"warm {label} x{n}")
                times, kinds = latencies(make(home, WARM_FN), n, args.phase_seconds)
                p50, p99 = pct(times, 50), pct(times, 99)
                note = f"n={len(times)}, kinds {dict(kinds)}, runner channel {channel_kinds(env)}"
                rows.append(Row(f"warm invoke p50, {label}", p50 * 1e3, "ms", rt50 * 1e3, "<= 2x raw round trip p50",
                                p50 <= 2 * rt50, note))
                rows.append(Row(f"warm invoke p99, {label}", p99 * 1e3, "ms", rt99 * 1e3, note=note))

            tput: dict[str, Row] = {}
            for kind, levels in (("agent", (1, 4, 16)), ("core", (16,))):
                for c in levels:
                    log(f"throughput {kind} c={c} for {args.tput_seconds:g} s ({args.workers} callers)")
                    t = throughput(kind, home, WARM_FN, c, args.tput_seconds, args.workers, up["agent_pid"])
                    by_group = ", ".join(f"{g} {v}" for g, v in t["cpu_pct_by_group"].items()
                                         if not g.startswith(" "))
                    rest = "/".join(f"{g.strip()[5:]} {v}" for g, v in t["cpu_pct_by_group"].items()
                                    if g.startswith(" "))
                    by_group += f" (rest: {rest})" if rest else ""
                    note = (f"{t['calls']} calls; host busy {t['host_busy_pct']:.0f}% of {t['cores']} cores; "
                            f"CPU % by process: {by_group}")
                    what = "agent client" if kind == "agent" else "core invoke()"
                    tput[f"{kind}{c}"] = row = Row(f"throughput c={c}, {what}, {args.workers} callers", t["rate"],
                                                   "inv/s", note=note, extra=t)
                    rows.append(row)
            pool = int(json.loads(sh([str(CLI), "node", "status", "local", "--json"], env))
                       .get("containers", {}).get(WARM_FN, 1))
            agent16_note = f"; runner channel {channel_kinds(env)}"
            tput["agent16"].note += agent16_note
            log(f"raw throughput c=16 over {pool} echo containers for {args.tput_seconds:g} s")
            raw_rate, used = raw_throughput(image, 16, pool, args.tput_seconds, raw_containers)
            rows.append(Row(f"raw throughput c=16 over attach, {used} containers (the agent's pool)", raw_rate,
                            "inv/s", note="one line in flight per container, as the agent runs one call each"))
            agent16, core16 = tput["agent16"], tput["core16"]
            agent16.baseline, agent16.target, agent16.met = raw_rate, ">= 0.7x raw", agent16.figure >= 0.7 * raw_rate
            core16.baseline, core16.target = agent16.figure, ">= 0.7x agent client c=16"
            core16.met = core16.figure >= 0.7 * agent16.figure

            log(f"{BIG_MB} MB result, end to end x{args.large_runs}")
            sh([str(CLI), "fn", "deploy", BIG_FN, str(big_dir), "--runtime", "python", "--handler", "main:handle",
                "--preload", "function", "--min-warm", "1", "--max-concurrency", "1"], env)
            big_call = core_caller(home, BIG_FN)
            big_call()  # its container warm, as in the raw case
            big = statistics.median(timed(big_call, args.large_runs))
            raw_big = statistics.median(raw_large(image, BIG_MB * 1_000_000, args.large_runs, raw_containers))
            rows.append(Row(f"{BIG_MB} MB handler result, core invoke() end to end (median)", big, "s", raw_big,
                            "<= 3x raw attach", big <= 3 * raw_big,
                            f"n={args.large_runs}; baseline: the same bytes out of a running container over a bare "
                            "attach stream"))

            log(f"faasctl invoke / --help as new processes x{args.cli_runs}")
            walls = timed_runs([str(CLI), "invoke", WARM_FN], args.cli_runs, env)
            rows.append(Row("`faasctl invoke` warm, new process (median wall)", statistics.median(walls) * 1e3,
                            "ms", target="< 150 ms", met=statistics.median(walls) < 0.150,
                            note=f"n={len(walls)}, max {max(walls) * 1e3:.0f} ms"))
            walls = timed_runs([str(CLI), "--help"], args.cli_runs, env)
            rows.append(Row("`faasctl --help` (median wall)", statistics.median(walls) * 1e3, "ms",
                            target="< 150 ms", met=statistics.median(walls) < 0.150,
                            note=f"n={len(walls)}, max {max(walls) * 1e3:.0f} ms"))
    finally:
        for name in raw_containers:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return rows, info


# output ------------------------------------------------------------------------------

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    p.add_argument("--docker-runs", type=int, default=7, help="raw docker runs (median)")
    p.add_argument("--roundtrips", type=int, default=2000, help="raw container round trips")
    p.add_argument("--cold-runs", type=int, default=7, help="cold calls, preload none (median)")
    p.add_argument("--warm-calls", type=int, default=2000, help="warm calls through the agent client")
    p.add_argument("--core-calls", type=int, default=1000, help="warm calls through core invoke()")
    p.add_argument("--tput-seconds", type=float, default=3.0, help="seconds per throughput level")
    p.add_argument("--workers", choices=("thread", "process"), default="thread",
                   help="throughput callers: threads (one client each; the default, since the bench used "
                   "under a third of a core at c=16) or processes (no shared GIL, more CPU contention)")
    p.add_argument("--large-runs", type=int, default=3, help="10 MB result calls, and raw transfers (median)")
    p.add_argument("--cli-runs", type=int, default=15, help="new-process CLI runs (median)")
    p.add_argument("--phase-seconds", type=float, default=20.0, help="time bound of each latency loop")
    args = p.parse_args()
    started = time.time()
    load = Path("/proc/loadavg").read_text().split()[0]
    rows, info = run(args)
    info.update(machine={**machine(), "loadavg_before": load}, seconds=round(time.time() - started, 1),
                workers=args.workers)
    if args.json:
        print(json.dumps({"info": info, "rows": [{**asdict(r), "ratio": r.ratio} for r in rows]}, indent=2))
    else:
        m = info["machine"]
        print(f"machine: {m['nproc']} cpus ({m['cpu']}), {m['memory']} RAM, kernel {m['kernel']}, "
              f"docker {m['docker']}, python {m['python']}; load before {m['loadavg_before']}; "
              f"image {info['image']}; {info['workers']} callers; {info['seconds']} s")
        print(table(rows))
        noisy = [r.what for r in rows if r.extra.get("cpu_pct_by_group", {}).get("rest", 0) > 10]
        if noisy:
            print(f"\nwarning: other processes used over 10% CPU during: {'; '.join(noisy)}. "
                  "Those figures are pessimistic; run again on a quiet machine.")


if __name__ == "__main__":
    main()
