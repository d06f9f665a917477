"""A 10 MB result end to end, before and after, paired: checkouts take turns.

Each turn is a new process importing faasctl (and building the agent) from one checkout
(PYTHONPATH, FAASCTL_AGENT_SOURCE): a local node, a warm handler returning `--mb` MB,
`core.invoke()` and the bare agent client on it, and the same bytes read off a bare
attach stream from a running container (bench/raw_baselines.py) in the same turn. Each
figure is a median of `--calls` after one warm-up call; the ratio is to that turn's raw
median. The checkouts alternate, so a noisy machine loads both alike.

    .venv/bin/python bench/large_ab.py --before /tmp/wt-large-base --after . [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import CLI, HANDLER, Row, log, platform_up, report, sh

HERE = Path(__file__).resolve().parent
BIG_FN = "bench-big"


def child(mb: int, calls: int) -> None:
    """One turn, in the checkout PYTHONPATH names."""
    from measure import agent_caller, core_caller
    from raw_baselines import raw_large, timed

    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-large-"))
    home, fn_dir, big_dir = str(tmp / "home"), tmp / "fn", tmp / "big"
    fn_dir.mkdir()
    big_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    (big_dir / "main.py").write_text(f"def handle(params):\n    return 'x' * {mb * 1_000_000}\n")
    raw_containers: list[str] = []
    try:
        with platform_up(home, fn_dir, 1) as up:
            sh([str(CLI), "fn", "deploy", BIG_FN, str(big_dir), "--runtime", "python", "--handler", "main:handle",
                "--preload", "function", "--min-warm", "1", "--max-concurrency", "1"], up["env"])
            core, agent = core_caller(home, BIG_FN), agent_caller(home, BIG_FN)
            core()
            agent()
            out = {"core": statistics.median(timed(core, calls)), "agent": statistics.median(timed(agent, calls)),
                   "raw": statistics.median(raw_large(up["image"], mb * 1_000_000, calls, raw_containers))}
    finally:
        for name in raw_containers:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out))


def turn(checkout: Path, args: argparse.Namespace) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": f"{checkout}:{checkout / 'agent'}",
           "FAASCTL_AGENT_SOURCE": str(checkout / "agent")}
    out = subprocess.run([sys.executable, str(HERE / "large_ab.py"), "--child", "--mb", str(args.mb),
                          "--calls", str(args.calls)], env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"turn in {checkout} failed: {out.stderr.strip()[-1500:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--before", type=Path, help="the checkout before (a detached worktree of the base)")
    p.add_argument("--after", type=Path, default=HERE.parent, help="the checkout after (default: this one)")
    p.add_argument("--rounds", type=int, default=3, help="turns of each checkout, alternating")
    p.add_argument("--mb", type=int, default=10, help="the result's size in MB (10^6 bytes)")
    p.add_argument("--calls", type=int, default=5, help="timed calls per caller and turn (median)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.mb, args.calls)
        return
    sides = [("before", args.before), ("after", args.after)] if args.before else [("after", args.after)]
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in sides}
    for i in range(args.rounds):
        for name, checkout in sides if i % 2 == 0 else sides[::-1]:
            log(f"round {i + 1}: {name} ({checkout})")
            got = turn(checkout.resolve(), args)
            log(f"  core {got['core'] * 1e3:.1f} ms, agent {got['agent'] * 1e3:.1f} ms, raw {got['raw'] * 1e3:.1f} ms"
                f" -> {got['core'] / got['raw']:.2f}x / {got['agent'] / got['raw']:.2f}x")
            results[name].append(got)
    rows = []
    for name, turns in results.items():
        for what in ("core", "agent"):
            per_turn = [t[what] / t["raw"] for t in turns]
            ratios = ", ".join(f"{r:.2f}" for r in per_turn) + f" (median {statistics.median(per_turn):.2f})"
            label = "core invoke() end to end" if what == "core" else "agent client (no state write)"
            rows.append(Row(f"{name}: {args.mb} MB result, {label}", statistics.median(t[what] for t in turns) * 1e3,
                            "ms", statistics.median(t["raw"] for t in turns) * 1e3, "<= 3x raw attach",
                            statistics.median(per_turn) <= 3,
                            f"per-turn ratios {ratios}"))
    report(rows, f"{args.rounds} rounds of {args.calls} calls, alternating; ratio of medians")


if __name__ == "__main__":
    main()
