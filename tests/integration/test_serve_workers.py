"""`faasctl serve --workers 2`: two processes on one port and one state file (issue 15).

Which worker holds a connection is read from the kernel (/proc/net/tcp and each
worker's open sockets), so a call accepted by one worker is waited on through a
connection the other one holds, not by luck. Many clients invoke at once, sync and
async: every call number is unique and every acknowledged call is found, over HTTP
and by `faasctl call get`.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from faasctl_agent.protocol import FINAL

from tests.support.apiserver import ApiServer, serve
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

FN = "workers-echo"
HANDLER = "def handle(params):\n    return {'n': params['n']}\n"
CLIENTS, CALLS_EACH = 8, 12


@pytest.fixture(scope="module")
def api(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    code = tmp_path_factory.mktemp("workers-fn")
    (code / "main.py").write_text(HANDLER)
    platform.cli("fn", "deploy", FN, str(code), "--runtime", "python", "--handler", "main:handle",
                 "--max-concurrency", "4", "--queue-limit", "1000")
    with serve(platform, "--workers", "2") as server:
        yield server


class Conn:
    """One keep-alive HTTP connection, and the worker process that accepted it."""

    def __init__(self, api: ApiServer, token: str = "") -> None:
        self.port = int(api.url.rsplit(":", 1)[1])
        self.headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        status, _ = self.request("GET", "/v1/runtimes")  # answered: a worker has accepted the connection
        assert status == 200
        self.worker = owner(self.port, self.http.sock.getsockname()[1], workers(api.proc.pid))

    def request(self, method: str, path: str, body: object = None, auth: bool = True) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        headers = self.headers if auth else {"Content-Type": "application/json"}
        self.http.request(method, path, body=data, headers=headers)
        resp = self.http.getresponse()
        return resp.status, json.loads(resp.read())

    def close(self) -> None:
        self.http.close()


def one_per_worker(api: ApiServer, token: str = "", pause: float = 0.05) -> dict[int, Conn]:
    """A connection held by each of the two workers: the kernel picks who accepts, so
    connections are opened until both have one (bounded; `pause` between them gives a
    worker still starting time to accept)."""
    assert len(workers(api.proc.pid)) == 2
    held: dict[int, Conn] = {}
    for _ in range(200):
        time.sleep(pause)
        conn = Conn(api, token)
        if conn.worker in held:
            conn.close()
        else:
            held[conn.worker] = conn
        if len(held) == 2:
            return held
    raise AssertionError("200 connections all went to one worker")


def workers(parent: int) -> list[int]:
    """serve's worker processes: the children multiprocessing spawned (not its resource tracker)."""
    children = [int(p) for p in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
    return [p for p in children if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


def owner(server_port: int, client_port: int, pids: list[int]) -> int:
    """The process holding the server side of the loopback connection from `client_port`."""
    inode = ""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (int(fields[1].rsplit(":", 1)[1], 16) == server_port
                and int(fields[2].rsplit(":", 1)[1], 16) == client_port):
            inode = fields[9]
    assert inode, f"no server-side socket for client port {client_port}"
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker among {pids} holds socket {inode}")


@pytest.fixture(scope="module")
def by_worker(api: ApiServer) -> Iterator[dict[int, Conn]]:
    held = one_per_worker(api)
    yield held
    for conn in held.values():
        conn.close()


def wait_final(conn: Conn, call_num: int, attempts: int = 300) -> dict[str, Any]:
    for _ in range(attempts):
        status, call = conn.request("GET", f"/v1/calls/{call_num}")
        assert status == 200, call
        if call["status"] in FINAL:
            return call
        time.sleep(0.2)
    raise AssertionError(f"call {call_num} still {call['status']} after {attempts} polls")


def test_an_async_call_accepted_by_one_worker_is_waited_on_through_the_other(by_worker: dict[int, Conn]) -> None:
    first, second = by_worker.values()
    assert first.worker != second.worker
    for taker, waiter in ((first, second), (second, first)):
        status, accepted = taker.request("POST", f"/v1/functions/{FN}/invocations?async=true",
                                         {"params": {"n": taker.worker}})
        assert status == 202 and accepted["status"] == "PENDING", accepted
        done = wait_final(waiter, accepted["callNum"])
        assert done["status"] == "DONE" and json.loads(done["result"]) == {"n": taker.worker}


def test_many_clients_unique_numbers_every_call_found(platform: Platform, api: ApiServer,
                                                      by_worker: dict[int, Conn]) -> None:
    def client(i: int) -> list[tuple[int, bool, int]]:
        conn = Conn(api)  # a new connection: whichever worker the kernel gives it
        made = []
        try:
            for j in range(CALLS_EACH):
                n, is_async = i * 1000 + j, j % 2 == 1
                status, call = conn.request("POST", f"/v1/functions/{FN}/invocations" + ("?async=true" * is_async),
                                            {"params": {"n": n}})
                assert status == (202 if is_async else 200), call
                if not is_async:
                    assert call["status"] == "DONE" and json.loads(call["result"]) == {"n": n}, call
                made.append((call["callNum"], is_async, n))
        finally:
            conn.close()
        return made

    with ThreadPoolExecutor(CLIENTS) as pool:
        made = [m for part in pool.map(client, range(CLIENTS)) for m in part]
    numbers = [num for num, _, _ in made]
    assert len(numbers) == CLIENTS * CALLS_EACH and len(set(numbers)) == len(numbers)
    readers = list(by_worker.values())
    for k, (num, _, n) in enumerate(made):  # every call, read through each worker in turn
        call = wait_final(readers[k % 2], num)
        assert call["status"] == "DONE" and json.loads(call["result"]) == {"n": n}, call
    # and by a user's faasctl, a process of its own as `faasctl call ...` always is
    listed = json.loads(platform.cli("call", "list", "--function", FN, "--limit", "1000", "--json",
                                     process=True).stdout)
    shown = {c["callNum"]: c for c in listed}
    for num, _, n in made:
        assert shown[num]["status"] == "DONE" and json.loads(shown[num]["result"]) == {"n": n}, shown.get(num)
    for num, _, n in (made[0], made[-1]):
        one = json.loads(platform.cli("call", "get", str(num), "--json", process=True).stdout)
        assert one["status"] == "DONE" and json.loads(one["result"]) == {"n": n}


def test_the_token_reaches_every_worker(platform: Platform) -> None:
    env = {**platform.env, "FAASCTL_TOKEN": "s3cret-workers"}
    with serve(platform, "--workers", "2", token="s3cret-workers", env=env) as server:
        for conn in one_per_worker(server, "s3cret-workers").values():  # each answered 200 with the token
            status, body = conn.request("GET", "/v1/runtimes", auth=False)
            assert status == 401 and body["hint"], body
            conn.close()


def test_a_worker_that_dies_is_replaced(platform: Platform, api: ApiServer) -> None:
    """uvicorn's supervisor starts another; it serves calls like the first (`api`: FN deployed)."""
    with serve(platform, "--workers", "2") as server:
        victim = workers(server.proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        for _ in range(300):  # bounded: about a minute
            now = workers(server.proc.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.2)
        assert len(now) == 2 and victim not in now, now
        for conn in one_per_worker(server, pause=0.25).values():  # the new one answers too, once started
            status, accepted = conn.request("POST", f"/v1/functions/{FN}/invocations", {"params": {"n": 7}})
            assert status == 200 and json.loads(accepted["result"]) == {"n": 7}, accepted
            conn.close()


@pytest.mark.parametrize("value", ["0", "-1", "10000"])
def test_bad_worker_counts_are_refused(platform: Platform, value: str) -> None:
    proc = platform.cli("serve", "--workers", value, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert f"--workers {value}" in lines[0] and "hint" in proc.stderr.lower() and len(lines) <= 2, proc.stderr
