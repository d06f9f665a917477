"""A state file with many calls, written through the state layer, for the CLI-at-scale bench.

The function rows go through the ORM (models, db.transaction), as `fn deploy` writes
them; the calls go through the fast path's connection (fastpath.connect: the state
layer's pragmas, BEGIN IMMEDIATE) with one executemany per chunk in one transaction,
into the models' table and columns (state/schema.py, generated from models.py). The
call_count triggers run for every row, as they do for real calls.

    .venv/bin/python bench/fill_calls.py HOME [--calls 1000000] [--functions 4]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from faasctl.config import Settings
from faasctl.state import fastpath, schema
from faasctl.state.db import open_engine, transaction
from faasctl.state.models import Function, Runtime

CHUNK = 10_000
STATUSES = ["DONE"] * 97 + ["ERROR", "TIMEOUT", "LOST"]


def fill(home: Path, calls: int, functions: int = 4, seed: int = 12) -> Path:
    """Make HOME's state file: one runtime, `functions` functions, `calls` finished calls."""
    path = Settings(home=home).state_path
    engine = open_engine(path)
    names = [f"fn{i}" for i in range(functions)]
    with transaction(engine) as s:
        s.merge(Runtime(name="python", image="faasctl/rt-python:bench"))
        for name in names:
            s.merge(Function(name=name, runtime_name="python", version=1, digest="b" * 64, mode="handler",
                             handler="main:handle"))
    engine.dispose()
    conn = fastpath.connect(path)
    columns = [c for c in schema.COLUMNS["call"] if c != "call_num"]
    sql = f"INSERT INTO call ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    rng = random.Random(seed)
    with fastpath.write(conn):
        for start in range(0, calls, CHUNK):
            conn.executemany(sql, (_values(columns, i, names, rng) for i in range(start, min(calls, start + CHUNK))))
    conn.close()
    return path


def _values(columns: list[str], i: int, names: list[str], rng: random.Random) -> list[Any]:
    status = rng.choice(STATUSES)
    now = time.time()
    row = {"uid": f"{i:024x}", "func_name": names[i % len(names)], "version": 1, "alias": "",
           "params": json.dumps({"i": i}),
           "status": status, "result": "ok" if status == "DONE" else "", "error": "" if status == "DONE" else "x",
           "log": "", "node": "local", "start_kind": "warm", "queue_ms": 0.01, "start_ms": 0.0,
           "run_ms": round(rng.lognormvariate(0, 0.5), 3), "is_async": 0, "created_at": now, "finished_at": now}
    return [row[c] for c in columns]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--functions", type=int, default=4)
    args = parser.parse_args()
    started = time.monotonic()
    path = fill(args.home, args.calls, args.functions)
    print(f"{args.calls:,} calls in {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
