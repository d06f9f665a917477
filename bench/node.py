"""faasctl Node.js benchmark (issue 13): a Node function's warm call, cold start and stem-cell
first call, next to Python's and to raw baselines of the same images, from the same run.

Per language, rounds alternate (python, node, python, node...) because the machine is
shared and noisy. Warm: sequential calls of a trivial handler through the agent client
(no state writes) and through core `invoke()`, against a raw round trip of one line
through an echo loop of that language in a running container of the same image (attach
stream, the same limits). Cold and prewarm: the first
call of a freshly deployed function under preload `none` and `runtime`, against a raw
`docker run --rm` of the same image running that language's interpreter.

    .venv/bin/python bench/node.py [--rounds 3] [--n 300] [--cold 5]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import CLI, PROBE, Row, bounded, log, machine, sh, table, timed_runs
from measure import RawAttach, agent_caller, core_caller, latencies

LANGS: dict[str, dict[str, Any]] = {
    "python": {"file": "main.py", "body": "def handle(params):\n    return 'ok'\n", "handler": "main:handle",
               "echo": ["python3", "-u", "-c", "import sys\nfor line in sys.stdin.buffer:\n"
                        "    sys.stdout.buffer.write(line); sys.stdout.buffer.flush()\n"],
               "bare": ["python3", "-c", "pass"]},
    "node": {"file": "index.js", "body": "module.exports.handle = async () => 'ok';\n", "handler": "index:handle",
             "echo": ["node", "-e", "process.stdin.on('data', (d) => process.stdout.write(d))"],
             "bare": ["node", "-e", "0"]},
}
LIMITS = ["--network", "none", "--cpus", "1", "--memory", "256m", "--user", "65534:65534", "--cap-drop", "ALL"]


def raw_roundtrip(image: str, echo: list[str], n: int) -> list[float]:
    name = f"faasctl-bench-node-{secrets.token_hex(3)}"
    sh(["docker", "run", "-d", "-i", "--name", name, *LIMITS, image, *echo])
    try:
        client = RawAttach(name)
        for _ in range(50):
            client.roundtrip(PROBE)
        times = []
        for _ in bounded(n, 60):
            t0 = time.perf_counter()
            client.roundtrip(PROBE)
            times.append(time.perf_counter() - t0)
        client.close()
        return times
    finally:
        sh(["docker", "rm", "-f", name])


def first_call(env: dict[str, str], home: str, src: Path, runtime: str, lang: dict[str, Any], preload: str,
               i: int) -> tuple[float, str]:
    from faasctl.config import Settings
    from faasctl.core.context import Context
    from faasctl.core.invoke import invoke

    name = f"first-{runtime}-{preload}-{i}"
    sh([str(CLI), "fn", "deploy", name, str(src), "--runtime", runtime, "--handler", lang["handler"],
        "--preload", preload], env)
    if preload == "runtime":
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stems = json.loads(sh([str(CLI), "node", "status", "local", "--json"], env)).get("stem_cells", {})
            if sum(n for key, n in stems.items() if key.endswith("|" + runtime)) >= 1:
                break
            time.sleep(0.1)
    ctx = Context(Settings(home=Path(home)))
    t0 = time.perf_counter()
    record = invoke(ctx, name, {})
    wall = time.perf_counter() - t0
    sh([str(CLI), "fn", "rm", name], env)
    time.sleep(1)  # let the removal finish: each first call starts on an idle engine
    return wall, str(record["startKind"])


def run(args: argparse.Namespace) -> list[Row]:
    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-node-"))
    home = str(tmp / "home")
    env = {**os.environ, "FAASCTL_HOME": home}
    samples: dict[str, dict[str, list[float]]] = {
        k: {"agent": [], "warm": [], "raw": [], "cold": [], "prewarm": [], "run": []} for k in LANGS}
    try:
        sh([str(CLI), "node", "add", "local"], env)
        for runtime, lang in LANGS.items():
            sh([str(CLI), "runtime", "add", runtime], env, timeout=1800)
            src = tmp / runtime
            src.mkdir()
            (src / lang["file"]).write_text(lang["body"])
            sh([str(CLI), "fn", "deploy", f"warm-{runtime}", str(src), "--runtime", runtime, "--handler",
                lang["handler"], "--min-warm", "1"], env)
        images = {r["name"]: r["image"] for r in json.loads(sh([str(CLI), "runtime", "list", "--json"], env))}
        for rnd in range(args.rounds):
            for runtime, lang in LANGS.items():
                log(f"round {rnd + 1}/{args.rounds}: {runtime}")
                s = samples[runtime]
                s["raw"] += raw_roundtrip(images[runtime], lang["echo"], args.n)
                s["agent"] += latencies(agent_caller(home, f"warm-{runtime}"), args.n, 60)[0]
                s["warm"] += latencies(core_caller(home, f"warm-{runtime}"), args.n, 60)[0]
                s["run"] += timed_runs(["docker", "run", "--rm", *LIMITS, images[runtime], *lang["bare"]], args.cold)
                for preload, key in (("none", "cold"), ("runtime", "prewarm")):
                    for i in range(args.cold):
                        wall, kind = first_call(env, home, tmp / runtime, runtime, lang, preload, rnd * 100 + i)
                        if kind == {"cold": "cold", "prewarm": "prewarm"}[key]:
                            s[key].append(wall)
    finally:
        try:
            sh([str(CLI), "node", "rm", "local"], env, timeout=120)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for runtime, s in samples.items():
        med = {k: statistics.median(v) * 1e3 if v else float("nan") for k, v in s.items()}
        rows += [
            Row(f"{runtime}: warm call, agent client (p50)", med["agent"], "ms", med["raw"],
                note=f"baseline: raw attach round trip to a {runtime} echo loop; n={len(s['agent'])}"),
            Row(f"{runtime}: warm call, core invoke (p50)", med["warm"], "ms", med["raw"],
                note=f"baseline: raw attach round trip to a {runtime} echo loop; n={len(s['warm'])}"),
            Row(f"{runtime}: first call, preload none (median)", med["cold"], "ms", med["run"],
                note=f"baseline: docker run --rm {' '.join(LANGS[runtime]['bare'][:2])}...; n={len(s['cold'])}"),
            Row(f"{runtime}: first call, preload runtime (median)", med["prewarm"], "ms", med["cold"],
                note=f"baseline: the same language's cold first call; n={len(s['prewarm'])}"),
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per language")
    parser.add_argument("--n", type=int, default=300, help="warm calls and raw round trips per round")
    parser.add_argument("--cold", type=int, default=5, help="first calls per policy per round")
    args = parser.parse_args()
    rows = run(args)
    print(f"machine: {json.dumps(machine())}")
    print(table(rows))


if __name__ == "__main__":
    main()
