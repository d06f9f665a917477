"""Read-only commands as new processes on a state file of a million calls, against
`python -c pass` of the same interpreter in the same run (issue 12: <= 6x each).

A temporary FAASCTL_HOME is filled by fill_calls.py (through the state layer), then each
round runs `python -c pass`, `python -c 'import typer'` (the floor of any typer CLI) and
every command once, in an order rotated round by round, so a drifting machine touches
all alike. The table's ratio is median over median; the
verdict uses the paired ratio in the notes: the median over rounds of a command's time
over that round's baseline. Two bytecode modes: `none` (PYTHONDONTWRITEBYTECODE=1
and no cache: a fresh checkout, faasctl's own modules compiled at every start) and
`cached` (a PYTHONPYCACHEPREFIX filled by one unmeasured run: an installed faasctl).
`--code NAME=DIR` runs faasctl from another checkout (PYTHONPATH=DIR:DIR/agent), e.g. a
`git worktree` of an older commit, in the same rounds: before and after in one table.
No node is registered, so `fn list`'s live warm counts ask no agent. `--invoke` times
`faasctl invoke` of a warm function on a local node instead (Docker; issue 12: <= 5x).

    .venv/bin/python bench/cli_scale.py [--calls 1000000] [--runs 15] [--code before=/tmp/wt] [--invoke]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import HANDLER, ROOT, WARM_FN, Row, log, machine, platform_up, table
from fill_calls import fill

COMMANDS = {"call list": ["call", "list"], "call get N": ["call", "get", "{mid}"], "fn list": ["fn", "list"],
            "runtime list": ["runtime", "list"], "--help": ["--help"]}
TARGETS = {"--help": 5.0, "invoke": 5.0}  # the goal for --help; 6x for the listings


def _env(home: Path, code: Path, mode: str, cache: Path) -> dict[str, str]:
    env = {**os.environ, "FAASCTL_HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": f"{code}{os.pathsep}{code / 'agent'}"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    if mode == "cached":
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _time(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run. From the temporary home, so `-m faasctl` does not find this
    checkout in the working directory before PYTHONPATH; no `timeout`, since Popen.wait
    with one polls in sleeps of up to 50 ms, which would round every figure."""
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=env["FAASCTL_HOME"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - started


def measure(home: Path, codes: dict[str, Path], mode: str, runs: int, seconds: float, mid: int,
            commands: dict[str, list[str]] = COMMANDS) -> list[Row]:
    cache = home / f"pyc-{mode}"
    items: list[tuple[str, list[str], dict[str, str]]] = [
        ("pass", [sys.executable, "-c", "pass"], _env(home, ROOT, mode, cache)),
        ("import typer", [sys.executable, "-c", "import typer"], _env(home, ROOT, mode, cache))]  # the floor
    for code_name, code in codes.items():
        for what, args in commands.items():
            argv = [sys.executable, "-m", "faasctl", *(a.format(mid=mid) for a in args)]
            items.append((f"{what} [{code_name}]", argv, _env(home, code, mode, cache)))
    for _, argv, env in items:  # unmeasured: fills the bytecode cache in `cached` mode
        warm = dict(env)
        if mode == "cached":
            warm.pop("PYTHONDONTWRITEBYTECODE")
        _time(argv, warm)
    times: dict[str, list[float]] = {name: [] for name, _, _ in items}
    deadline = time.monotonic() + seconds
    for r in range(runs):
        if time.monotonic() > deadline:
            log(f"  {mode}: stopped after {r} rounds (--seconds)")
            break
        order = items[r % len(items):] + items[:r % len(items)]
        for name, argv, env in order:
            times[name].append(_time(argv, env))
    base = times["pass"]
    rows = [Row(f"`python -c pass` ({mode})", statistics.median(base) * 1e3, "ms", note=f"n={len(base)}")]
    for name, _, _ in items[1:]:
        ratios = [t / b for t, b in zip(times[name], base)]
        ratio = statistics.median(ratios)
        note = f"n={len(ratios)}; paired ratio {ratio:.2f}x; max {max(times[name]) * 1e3:.0f} ms"
        if name == "import typer":  # not a command: what any typer CLI pays before its own code
            rows.append(Row(f"`python -c 'import typer'` ({mode})", statistics.median(times[name]) * 1e3, "ms",
                            statistics.median(base) * 1e3, note=note))
            continue
        goal = TARGETS.get(name.split(" [")[0], 6.0)
        rows.append(Row(f"`faasctl {name}` ({mode})", statistics.median(times[name]) * 1e3, "ms",
                        statistics.median(base) * 1e3, f"<= {goal:g}x", ratio <= goal, note))
    return rows


def invoke_rows(home: Path, codes: dict[str, Path], args: argparse.Namespace) -> list[Row]:
    """`faasctl invoke` (a warm trivial handler on a local node) and --help, same rounds and modes."""
    fn_dir = home / "fn"
    fn_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    (fn_dir / "requirements.txt").write_text("")
    rows: list[Row] = []
    with platform_up(str(home), fn_dir, 4):
        for mode in args.modes.split(","):
            rows += measure(home, codes, mode, args.runs, args.seconds, 1,
                            {"invoke": ["invoke", WARM_FN], "--help": ["--help"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--functions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=15, help="rounds per bytecode mode")
    parser.add_argument("--seconds", type=float, default=300, help="at most this long per mode")
    parser.add_argument("--modes", default="none,cached")
    parser.add_argument("--code", action="append", default=[], help="NAME=DIR: also run faasctl from DIR")
    parser.add_argument("--invoke", action="store_true",
                        help="instead: `faasctl invoke` of a warm function on a local node (needs Docker)")
    args = parser.parse_args()
    codes = {"this": ROOT, **{c.split("=", 1)[0]: Path(c.split("=", 1)[1]).resolve() for c in args.code}}
    home = Path(tempfile.mkdtemp(prefix="faasctl-cli-scale-"))
    try:
        if args.invoke:
            print(table(invoke_rows(home, codes, args)))
            return
        started = time.monotonic()
        fill(home, args.calls, args.functions)
        log(f"filled {args.calls:,} calls in {time.monotonic() - started:.1f} s")
        rows: list[Row] = []
        for mode in args.modes.split(","):
            rows += measure(home, codes, mode, args.runs, args.seconds, max(1, args.calls // 2))
        info = machine()
        print(f"machine: {info}\n")
        print(table(rows))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
