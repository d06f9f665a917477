"""dist/faasctl against its budgets: size, and start time next to the virtualenv's in the same run.

Both commands run as new processes with PYTHONDONTWRITEBYTECODE=1 (as on these machines),
alternating A B A B so a drifting machine affects both alike; the figure is the median of
the pair-by-pair ratios. The file gets its own PEX_ROOT: its first start (the one-off
install into that venv, and the background bytecode compile) is timed apart. `python3`
on PATH is the virtualenv's base interpreter, so a pyenv shim's own cost (tens of ms) is
not charged to the file.

    bash scripts/dist.sh && .venv/bin/python bench/dist.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib import CLI, HANDLER, ROOT, Row, log, machine, platform_up, sh, table

FILE = ROOT / "dist" / "faasctl"
SIZE_BUDGET = 60 * 10**6


def paired(a: list[str], b: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    """(median A seconds, median B seconds, median of A/B per pair), one warm-up each."""
    walls: dict[str, list[float]] = {"a": [], "b": []}
    ratios = []
    for i in range(runs + 1):
        pair = {}
        for key, argv in (("a", a), ("b", b)):
            t0 = time.perf_counter()
            sh(argv, env)
            pair[key] = time.perf_counter() - t0
        if i:
            walls["a"].append(pair["a"])
            walls["b"].append(pair["b"])
            ratios.append(pair["a"] / pair["b"])
    return statistics.median(walls["a"]), statistics.median(walls["b"]), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if not FILE.is_file():
        raise SystemExit(f"{FILE} is missing: run bash scripts/dist.sh first")
    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-dist-"))
    base_python = Path(os.path.realpath(Path(CLI).with_name("python"))).parent
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PEX_ROOT": str(tmp / "pex"),
           "PATH": f"{base_python}{os.pathsep}{os.environ.get('PATH', '')}", "FAASCTL_HOME": str(tmp / "home")}
    rows = [Row("dist/faasctl size", FILE.stat().st_size / 1e6, "MB", SIZE_BUDGET / 1e6, "< 60 MB",
                FILE.stat().st_size < SIZE_BUDGET, "baseline column: the budget")]

    log("first start of the file (install into its PEX_ROOT)")
    t0 = time.perf_counter()
    sh([str(FILE), "--version"], env)
    first = time.perf_counter() - t0
    deadline = time.monotonic() + 300
    while not list((tmp / "pex").glob("venvs/*/*/*/.faasctl-bytecode")) and time.monotonic() < deadline:
        time.sleep(0.2)
    compiled = time.perf_counter() - t0
    rows.append(Row("first start, once per machine", first, "s", note=f"bytecode compiled {compiled:.1f} s after it"))

    log("--help, file vs virtualenv")
    a, b, ratio = paired([str(FILE), "--help"], [str(CLI), "--help"], env, args.runs)
    rows.append(Row("`faasctl --help` (file)", a * 1000, "ms", b * 1000, "<= 1.3x the venv", ratio <= 1.3,
                    f"median pair ratio {ratio:.2f}x, {args.runs} pairs"))

    fn_dir = tmp / "fn"
    fn_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    log("a local node and a warm function for invoke")
    with platform_up(env["FAASCTL_HOME"], fn_dir, 4) as up:
        call = ["invoke", "bench-warm"]
        a, b, ratio = paired([str(FILE), *call], [str(CLI), *call], up["env"] | env, args.runs)
        rows.append(Row("`faasctl invoke` warm (file)", a * 1000, "ms", b * 1000, "<= 1.3x the venv", ratio <= 1.3,
                        f"median pair ratio {ratio:.2f}x, {args.runs} pairs"))
        py = paired([str(base_python / "python3"), "-c", "pass"], [str(CLI), "--version"], env, 5)
        rows.append(Row("`python3 -c pass` (for scale)", py[0] * 1000, "ms"))
    subprocess.run(["rm", "-rf", str(tmp)], check=False)
    info = machine()
    print(f"machine: {info['cpu']}, {info['nproc']} CPUs, Python {info['python']}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
