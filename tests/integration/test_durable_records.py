"""Issue 12's durability test: a process runs core invoke() in several threads against a
real local node and a warm function, printing each call as soon as invoke() returns it;
it is killed with SIGKILL at seeded random moments. Afterwards the state file must hold
every acknowledged call with the record invoke() returned (so records written in shared,
group-committed transactions are acknowledged only after their commit), and a record for
every call the agent ran (the PENDING record is committed before the agent sees a call).
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.platform import REPO, Platform, local_nodes

pytestmark = pytest.mark.integration

FN = "durable-echo"
THREADS, ROUNDS, SEED = 8, 5, 12
# The caller process: THREADS threads, each with its own Context (as serve's core threads
# have), all sharing the process's one record writer. Every fourth call is async.
CALLER = """
import json, sys, threading
from pathlib import Path
from faasctl.config import Settings
from faasctl.core.context import Context
from faasctl.core.invoke import invoke

home, fn, threads, rnd = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = threading.Lock()

def loop(t):
    ctx = Context(Settings(home=Path(home)))
    for i in range(100_000):
        record = invoke(ctx, fn, {"round": rnd, "t": t, "i": i}, is_async=i % 4 == 3)
        with out:
            sys.stdout.write(json.dumps(record) + "\\n")
            sys.stdout.flush()

for t in range(threads):
    threading.Thread(target=loop, args=(t,), daemon=True).start()
threading.Event().wait()
"""


def deploy(platform: Platform, tmp_path: Path) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "main.py").write_text("import json\n\ndef handle(params):\n    return json.dumps(params, sort_keys=True)\n")
    platform.cli("fn", "deploy", FN, str(src), "--runtime", "python", "--handler", "main:handle",
                 "--preload", "function", "--min-warm", "2", "--max-concurrency", "4", "--queue-limit", "64")


def run_and_kill(platform: Platform, rnd: int, delay: float) -> list[dict[str, Any]]:
    """One round: start the caller, kill it `delay` s after its first acknowledgement; the
    calls it acknowledged (whole lines; a line cut by the kill was never acknowledged)."""
    proc = subprocess.Popen([sys.executable, "-c", CALLER, str(platform.home), FN, str(THREADS), str(rnd)],
                            env=platform.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    first = threading.Event()
    lines: list[bytes] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            first.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not first.wait(60):
            proc.kill()
            raise AssertionError(f"the caller acknowledged nothing: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    reader.join(30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
    return [json.loads(line) for line in lines if line.endswith(b"\n")]


def agent_ran(platform: Platform, ctx: Any) -> set[str]:
    """The ids of every call of FN the local agent has in its journal, once it has finished
    what the killed caller left running (its `call` request writes finished calls first)."""
    from faasctl.errors import NotFound
    from faasctl.state import fastpath

    node = fastpath.target(ctx.fast, FN)["nodes"][0]
    client = ctx.client(node)
    deadline = time.monotonic() + 30
    while client.request("status", timeout=10)["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(NotFound):
        client.request("call", {"call_id": "flush-" + "0" * 18}, timeout=10)
    journal = sqlite3.connect(f"file:{platform.home / 'nodes' / 'local' / 'journal.db'}?mode=ro", uri=True)
    try:
        return {r[0] for r in journal.execute("SELECT id FROM calls WHERE function = ?", (FN,))}
    finally:
        journal.close()


def killed_rounds(platform: Platform, tmp_path: Path) -> list[dict[str, Any]]:
    deploy(platform, tmp_path)
    rng = random.Random(SEED)
    acked: list[dict[str, Any]] = []
    for rnd in range(ROUNDS):
        acked += run_and_kill(platform, rnd, rng.uniform(0.05, 1.0))
    assert len(acked) >= ROUNDS  # each round acknowledged at least its first call
    return acked


def check(platform: Platform, acked: list[dict[str, Any]], rows: dict[int, dict[str, Any]]) -> None:
    """`rows`: the state's call rows of FN by number, read afresh after the kills."""
    missing = [a["callNum"] for a in acked if a["callNum"] not in rows]
    assert not missing, f"{len(missing)} acknowledged calls have no record: {missing[:10]}"
    for a in acked:
        row = rows[a["callNum"]]
        assert json.loads(row["params"]) == a["params"]
        assert (row["node"], int(row["is_async"])) == ("local", int(a["async"]))
        assert row["status"] == a["status"]
        if a["async"]:  # acknowledged: recorded with the node that holds it, so it can be followed there
            assert a["status"] in ("PENDING", "RUNNING", "DONE")
        else:  # its final record, exactly as returned
            assert (row["status"], row["result"], row["finished_at"]) == ("DONE", a["result"], a["finishedAt"])
            assert a["result"] == json.dumps(a["params"], sort_keys=True)

    ran = agent_ran(platform, platform.context())
    uids = {r["uid"] for r in rows.values()}
    assert ran, "the agent's journal has no call of the function"
    assert not ran - uids, f"the agent ran {len(ran - uids)} calls that have no record"
    unacked = len(rows) - len(acked)
    assert 0 <= unacked <= ROUNDS * THREADS  # at most one call in flight per thread when killed


def test_every_acknowledged_call_survives_sigkill(platform: Platform, tmp_path: Path) -> None:
    acked = killed_rounds(platform, tmp_path)
    state = sqlite3.connect(f"file:{platform.home / 'state.db'}?mode=ro", uri=True)  # a fresh look, as after a crash
    state.row_factory = sqlite3.Row
    check(platform, acked, {r["call_num"]: dict(r) for r in state.execute("SELECT * FROM call WHERE func_name = ?",
                                                                          (FN,))})


def test_every_acknowledged_call_survives_sigkill_on_postgres(pg_url: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The same with the state in PostgreSQL (FAASCTL_STATE_URL): its group commit has no
    sync of its own, so this checks an acknowledgement waits for the server's COMMIT."""
    from faasctl.state import pg

    monkeypatch.setenv("FAASCTL_STATE_URL", pg_url)
    with local_nodes(tmp_path / "home", ("local",)) as platform:
        acked = killed_rounds(platform, tmp_path)
        state = pg.connect(pg_url)  # a new session, as after a crash
        check(platform, acked, {r["call_num"]: dict(r) for r in state.execute(
            "SELECT * FROM call WHERE func_name = ?", (FN,))})
