"""The cost of the state migrations (issue 15, part 2), against raw baselines in the same run.

A first-release state file with --calls calls (tests/support/first_release.py) is copied
afresh for each round. Each round times, in a rotated order: `python -c pass`; a raw
sqlite3 backup of the old file (the floor of a migration, which copies the file first);
`faasctl call list` on the old file (the first open: backup and every migration); and
`faasctl call list` on a file already at the head (every later open). Medians; the
ratios are over the raw backup and over `python -c pass`. Last, in process: the check
every opening pays on a file at head, against a raw `SELECT 1` on the same connection.

    .venv/bin/python bench/migrate.py [--calls 100000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchlib import ROOT, Row, log, report

sys.path.insert(0, str(ROOT))
from tests.support import first_release  # noqa: E402


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def _backup(source: Path, target: Path) -> float:
    start = time.perf_counter()
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    dst.close()
    src.close()
    return time.perf_counter() - start


def _per_call_us(fn: Callable[[], object], n: int = 5000) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def open_check(path: Path) -> tuple[float, float]:
    """migrate.ensure on a file at head (what every opening pays, `invoke` included) and a
    raw `SELECT 1` on the same connection, alternated three times; the medians in µs."""
    from faasctl.state import fastpath, migrate

    conn = fastpath.connect(path)
    checks, raws = [], []
    for _ in range(3):
        checks.append(_per_call_us(lambda: migrate.ensure(conn, path)))
        raws.append(_per_call_us(lambda: conn.execute("SELECT 1").fetchone()))
    conn.close()
    return statistics.median(checks), statistics.median(raws)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="faasctl-bench-migrate-"))
    try:
        old = root / "old.db"
        first_release.make(old, args.calls)
        log(f"first-release file: {args.calls} calls, {old.stat().st_size / 1e6:.1f} MB")
        # bytecode cached by the unmeasured first run below, as an installed faasctl has it
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
               "PYTHONPATH": f"{ROOT}:{ROOT / 'agent'}", "PYTHONPYCACHEPREFIX": str(root / "pycache")}
        cli = [sys.executable, "-m", "faasctl", "call", "list", "--limit", "20"]
        head = root / "head"
        head.mkdir(mode=0o700)
        shutil.copy(old, head / "state.db")
        subprocess.run(cli, env={**env, "FAASCTL_HOME": str(head)}, check=True, capture_output=True)
        times: dict[str, list[float]] = {k: [] for k in ("pass", "backup", "first", "head")}
        for rnd in range(args.runs):
            home = root / f"r{rnd}"
            home.mkdir(mode=0o700)
            shutil.copy(old, home / "state.db")
            steps = {
                "pass": lambda: _time([sys.executable, "-c", "pass"], env),
                "backup": lambda: _backup(old, root / f"copy{rnd}.db"),  # noqa: B023
                "first": lambda: _time(cli, {**env, "FAASCTL_HOME": str(home)}),  # noqa: B023
                "head": lambda: _time(cli, {**env, "FAASCTL_HOME": str(head)}),
            }
            order = list(steps)[rnd % 4:] + list(steps)[:rnd % 4]
            for name in order:
                times[name].append(steps[name]())
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        check, raw = open_check(head / "state.db")
        rows = [
            Row("python -c pass", med["pass"], "ms"),
            Row("raw sqlite3 backup of the old file", med["backup"], "ms"),
            Row("call list, first open: backup + migrations 0001->head", med["first"], "ms", med["backup"],
                note=f"{med['first'] / med['pass']:.1f}x python -c pass"),
            Row("call list on a file at head", med["head"], "ms", med["pass"], note="ratio over python -c pass"),
            Row("the check on every open, at head (migrate.ensure)", check, "us", raw,
                note="baseline: raw SELECT 1 on the same connection"),
        ]
        report(rows, f"bench/migrate.py --calls {args.calls} --runs {args.runs}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
