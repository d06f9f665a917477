"""Core invoke() before and after, paired: two checkouts take turns on one platform.

bench/records.py run once per checkout compares runs minutes apart, and on a shared
machine the disk's fsync time alone moved 4x between such runs. Here one local node and
one warm function serve both: each turn is a new process importing faasctl from one
checkout (PYTHONPATH), measuring core invoke() p50 over sequential calls, then the rate
of 16 caller threads; the checkouts alternate, and each pair's ratio is after/before.
Both checkouts must use the same state schema.

    .venv/bin/python bench/records_ab.py --before /tmp/wt-base-durable --after . [--pairs 6]
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

from benchlib import HANDLER, WARM_FN, Row, log, platform_up, report

HERE = Path(__file__).resolve().parent


def child(home: str, calls: int, seconds: float) -> None:
    """One turn, in the checkout PYTHONPATH names: p50 at c=1 and the rate at c=16."""
    from measure import _threaded, core_caller, latencies

    times, kinds = latencies(core_caller(home, WARM_FN), calls, 20.0)
    assert set(kinds) == {"warm"}, kinds
    count, wall, _ = _threaded(core_caller, home, WARM_FN, 16, seconds)
    print(json.dumps({"p50": statistics.median(times), "rate": count / wall}))


def turn(checkout: Path, home: str, args: argparse.Namespace) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": f"{checkout}:{checkout / 'agent'}", "FAASCTL_HOME": home}
    out = subprocess.run([sys.executable, str(HERE / "records_ab.py"), "--child", home, "--calls", str(args.calls),
                          "--tput-seconds", str(args.tput_seconds)], env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--before", type=Path, help="the checkout before (e.g. a detached worktree of the base)")
    p.add_argument("--after", type=Path, default=HERE.parent, help="the checkout after (default: this one)")
    p.add_argument("--pairs", type=int, default=6, help="turns of each checkout, alternating")
    p.add_argument("--calls", type=int, default=300, help="sequential calls per turn (p50)")
    p.add_argument("--tput-seconds", type=float, default=3.0, help="seconds of 16 callers per turn")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.calls, args.tput_seconds)
        return
    if args.before is None:
        p.error("--before is required (a checkout of the code to compare with)")
    root = Path(tempfile.mkdtemp(prefix="faasctl-bench-records-ab-"))
    (root / "fn").mkdir()
    (root / "fn" / "main.py").write_text(HANDLER)
    load = Path("/proc/loadavg").read_text().split()[0]
    got: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    try:
        with platform_up(str(root / "home"), root / "fn", 16):
            for n in range(args.pairs):
                for side in ("before", "after"):
                    log(f"pair {n + 1}: {side}")
                    got[side].append(turn(getattr(args, side).resolve(), str(root / "home"), args))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = []
    for key, what, unit, scale in (("p50", "core invoke() p50, c=1", "ms", 1e3),
                                   ("rate", "core invoke() throughput, c=16", "inv/s", 1.0)):
        before = [r[key] * scale for r in got["before"]]
        after = [r[key] * scale for r in got["after"]]
        ratios = [a / b for a, b in zip(after, before, strict=True)]
        rows.append(Row(f"{what}, before", statistics.median(before), unit,
                        note="turns: " + ", ".join(f"{v:.3g}" for v in before)))
        rows.append(Row(f"{what}, after", statistics.median(after), unit, statistics.median(before),
                        note="turns: " + ", ".join(f"{v:.3g}" for v in after) + "; per-pair after/before: "
                        + ", ".join(f"{r:.2f}" for r in ratios) + f" (median {statistics.median(ratios):.2f})"))
    report(rows, f"load before {load}; before {args.before}, after {args.after}; {args.pairs} pairs")


if __name__ == "__main__":
    main()
