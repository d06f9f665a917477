"""Node health: the backoff windows, the probe claim, and one prober across processes.

Real SQLite files, and real PostgreSQL databases (`backend`); time is passed in (`now`),
so nothing depends on the clock.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from faasctl.core import health
from faasctl.state import fastpath, keyfiles
from faasctl.state.db import open_engine, transaction
from faasctl.state.models import Deployment, Function, Node, Runtime
from tests.support.backends import Backend

T0 = 1_000_000.0


def seed(path: Path, with_health: bool = True, url: str = "") -> fastpath.StateConnection:
    engine = open_engine(path, url)
    with transaction(engine) as s:
        s.add(Runtime(name="python", image="img"))
        for name in ("n1", "n2"):
            s.add(Node(name=name, zmq_endpoint="tcp://127.0.0.1:1", server_key="k"))
    with transaction(engine) as s:
        s.add(Function(name="dice", runtime_name="python", version=1, digest="d" * 64))
        for name in ("n1", "n2"):
            s.add(Deployment(function_name="dice", node_name=name, digest="d" * 64, version=1))
    engine.dispose()
    keyfiles.store(path.parent / "keys", {"public": "p", "secret": "s"})
    conn = fastpath.connect(path, url=url)
    if not with_health:  # a state file made before node health existed
        conn.execute("DROP TABLE node_health")
    return conn


def test_window_doubles_from_one_second_to_sixty() -> None:
    assert [health.window(n) for n in range(0, 9)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert health.window(10_000) == 60


def test_failures_back_off_and_success_clears(backend: Backend) -> None:
    conn = seed(backend.path, url=backend.url)
    health.record_failure(conn, "n2", "node n2 refused the connection", now=T0)
    row = health.read_all(conn)["n2"]
    assert (row["failures"], row["skip_until"], row["down_since"]) == (1, T0 + 1, T0)
    health.record_failure(conn, "n2", "again", now=T0 + 1)
    health.record_failure(conn, "n2", "again", now=T0 + 3)
    row = health.read_all(conn)["n2"]
    assert (row["failures"], row["skip_until"], row["down_since"], row["last_error"]) == (3, T0 + 7, T0, "again")
    assert health.due(conn, now=T0 + 6.9) == [] and health.due(conn, now=T0 + 7) == ["n2"]
    health.record_success(conn, "n2")
    assert health.read_all(conn) == {} and health.view(None) == {"suspect": False}


def test_claim_only_after_the_window_and_only_once(backend: Backend) -> None:
    conn = seed(backend.path, url=backend.url)
    assert not health.claim_probe(conn, "n1", now=T0)  # a healthy node is never probed
    health.record_failure(conn, "n2", "refused", now=T0)
    assert not health.claim_probe(conn, "n2", now=T0 + 0.5)  # still in its window
    assert health.claim_probe(conn, "n2", now=T0 + 1)
    assert not health.claim_probe(conn, "n2", now=T0 + 1)  # the second caller keeps skipping it
    row = health.read_all(conn)["n2"]
    # the claim counted a failure in advance: an abandoned probe (a hung node) still backs off
    assert (row["failures"], row["skip_until"], row["probing_until"]) == (2, T0 + 3, T0 + 1 + health.PROBE_LEASE)
    health.record_probe_failure(conn, "n2", "did not complete a handshake", now=T0 + 3)
    row = health.read_all(conn)["n2"]
    assert (row["failures"], row["last_error"], row["probing_until"]) == (2, "did not complete a handshake", 0)
    for step in range(3, 12):  # windows keep doubling, then stop at 60 s
        now = row["skip_until"]
        assert health.claim_probe(conn, "n2", now=now)
        row = health.read_all(conn)["n2"]
        assert row["skip_until"] - now == health.window(step)
    assert row["skip_until"] - now == 60


def test_fast_path_reads_health_and_an_old_file_gains_the_table(tmp_path: Path) -> None:
    conn = seed(tmp_path / "state.db", with_health=False)
    nodes = fastpath.target(conn, "dice")["nodes"]
    assert [n["name"] for n in nodes] == ["n1", "n2"] and not any(health.suspect(n) for n in nodes)
    health.record_failure(conn, "n2", "refused", now=T0)  # creates the table in the old file
    nodes = {n["name"]: n for n in fastpath.target(conn, "dice")["nodes"]}
    assert not health.suspect(nodes["n1"]) and health.suspect(nodes["n2"])
    assert health.in_window(nodes["n2"], now=T0 + 0.5) and not health.in_window(nodes["n2"], now=T0 + 1)
    assert "node n2 is down since" in health.down_message("n2", nodes["n2"])
    assert "(last error: refused)" in health.down_message("n2", nodes["n2"])
    # and create_all (any ORM command) on that file agrees with the fast path's table
    open_engine(tmp_path / "state.db").dispose()
    assert health.read_all(conn)["n2"]["failures"] == 1


ROUNDS = 40


def _claimer(path: str, url: str, start: object, results: object) -> None:
    conn = fastpath.connect(Path(path), url=url)
    start.wait(30)  # type: ignore[attr-defined]
    won = [r for r in range(1, ROUNDS + 1) if health.claim_probe(conn, "n2", now=T0 + r * 1000)]
    results.put(won)  # type: ignore[attr-defined]


def test_one_prober_per_window_across_processes(backend: Backend) -> None:
    path = backend.path
    seed(path, url=backend.url).close()
    conn = backend.connect()
    conn.execute("INSERT INTO node_health VALUES ('n2', 1, ?, 'refused', ?, ?, 0)", (T0, T0, T0))
    conn.close()
    mp = multiprocessing.get_context("spawn")
    start, results = mp.Event(), mp.Queue()
    procs = [mp.Process(target=_claimer, args=(str(path), backend.url, start, results)) for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    won = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    # every window (round) had exactly one prober, whichever process it was
    assert sorted(won[0] + won[1]) == list(range(1, ROUNDS + 1))
    assert health.read_all(backend.connect())["n2"]["failures"] == 1 + ROUNDS


def test_a_probe_that_outlasts_its_window_restarts_it_from_the_failure(backend: Backend) -> None:
    """A hung node's probe takes the connect timeout, longer than a short window."""
    conn = seed(backend.path, url=backend.url)
    health.record_failure(conn, "n2", "refused", now=T0)
    assert health.claim_probe(conn, "n2", now=T0 + 1.5)  # the first window (1 s) has ended
    health.record_probe_failure(conn, "n2", "handshake timed out", now=T0 + 5.0)  # the probe took 3.5 s
    row = health.read_all(conn)["n2"]
    assert row["last_failed_at"] == T0 + 5.0 and row["skip_until"] == T0 + 5.0 + health.window(row["failures"])
    assert not health.claim_probe(conn, "n2", now=T0 + 5.1)
