"""Issue 15, a team on one PostgreSQL database: two operators (two FAASCTL_HOMEs, each
with its own CURVE key, the second authorised with `faasctl operator add`) and two
`faasctl serve` processes, one per operator, call the same function at once.

Real parts throughout: a PostgreSQL server from Debian's binaries (tests/support/pgserver.py),
two local agents (n1, n2), `faasctl invoke` processes and serve processes. What must hold:
no call number twice, no call lost or counted twice (the rows, the trigger-kept counts,
`fn list`), and every acknowledged call found by the other operator, through each serve
and through the dashboard's two sources."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from faasctl.config import Settings
from faasctl.dashboard.remote import RemoteSource
from faasctl.dashboard.sources import LocalSource
from faasctl.state import pg
from tests.support.apiserver import ApiServer, serve
from tests.support.platform import Platform, local_nodes

pytestmark = pytest.mark.integration
HANDLER = "def handle(p):\n    return {'i': p.get('i'), 'by': p.get('by')}\n"
CLI_THREADS, CLI_CALLS = 2, 5  # per operator: `faasctl invoke` processes
HTTP_THREADS, HTTP_CALLS, ASYNC_CALLS = 3, 15, 4  # per serve


@pytest.fixture()
def team(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Platform, Platform]]:
    monkeypatch.setenv("FAASCTL_STATE_URL", pg_url)  # every Settings of this test: the one database
    monkeypatch.setenv("FAASCTL_OPERATOR", "alice")
    with local_nodes(tmp_path / "a", ("n1", "n2")) as a:
        a.env["FAASCTL_OPERATOR"] = "alice"
        src = tmp_path / "src"
        src.mkdir()
        (src / "main.py").write_text(HANDLER)
        a.cli("fn", "deploy", "teamfn", str(src), "--runtime", "python", "--handler", "main:handle")
        b_home = tmp_path / "b"
        b_home.mkdir(mode=0o700)
        b = Platform(b_home, {**os.environ, "FAASCTL_HOME": str(b_home), "FAASCTL_OPERATOR": "bob"})
        bob = json.loads(b.cli("operator", "key", "--json").stdout)["public_key"]
        a.cli("operator", "add", "bob", "--public-key", bob)
        yield a, b


def run_all(jobs: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return errors


def wait_done(server: ApiServer, nums: list[int]) -> None:
    """Async calls, followed through a serve until they finish (bounded, not a timing check)."""
    deadline = time.monotonic() + 120
    with server.client() as http:
        for num in nums:
            while (call := http.get(f"/v1/calls/{num}").json())["status"] not in ("DONE", "ERROR", "TIMEOUT"):
                assert time.monotonic() < deadline, call
                time.sleep(0.1)
            assert call["status"] == "DONE", call


def test_two_operators_and_two_serves_on_one_database(team: tuple[Platform, Platform], pg_url: str) -> None:
    a, b = team
    acked: dict[str, list[int]] = {"alice": [], "bob": [], "serve-a": [], "serve-b": []}
    pending: dict[str, list[int]] = {"serve-a": [], "serve-b": []}
    lock = threading.Lock()

    def cli_calls(p: Platform, who: str, t: int) -> None:
        for i in range(CLI_CALLS):
            out = json.loads(p.cli("invoke", "teamfn", "-p", f"i={t * 100 + i}", "-p", f"by={who}", "--json",
                                   process=True).stdout)
            assert out["status"] == "DONE" and json.loads(out["result"])["by"] == who, out
            with lock:
                acked[who].append(int(out["callNum"]))

    def http_calls(server: ApiServer, who: str, t: int) -> None:
        with server.client() as http:
            for i in range(HTTP_CALLS):
                params = {"i": t * 100 + i, "by": who}
                asynchronous = i < ASYNC_CALLS and t == 0
                reply = http.post("/v1/functions/teamfn/invocations", json={"params": params},
                                  params={"async": "true"} if asynchronous else None)
                assert reply.status_code == (202 if asynchronous else 200), reply.text
                call = reply.json()
                assert asynchronous or (call["status"] == "DONE" and json.loads(call["result"]) == params), call
                with lock:
                    acked[who].append(int(call["callNum"]))
                    if asynchronous:
                        pending[who].append(int(call["callNum"]))

    with serve(a) as serve_a, serve(b) as serve_b:
        jobs: list[Callable[[], None]] = []
        for t in range(CLI_THREADS):
            jobs += [lambda t=t: cli_calls(a, "alice", t), lambda t=t: cli_calls(b, "bob", t)]
        for t in range(HTTP_THREADS):
            jobs += [lambda t=t: http_calls(serve_a, "serve-a", t), lambda t=t: http_calls(serve_b, "serve-b", t)]
        errors = run_all(jobs)
        assert not errors, errors
        wait_done(serve_b, pending["serve-a"])  # each serve's async calls, followed through the other
        wait_done(serve_a, pending["serve-b"])

        nums = [n for who in acked.values() for n in who]
        total = 2 * CLI_THREADS * CLI_CALLS + 2 * HTTP_THREADS * HTTP_CALLS
        assert len(nums) == total and len(set(nums)) == total  # no call number twice

        conn = pg.connect(pg_url)  # the database itself: every acknowledged call, nothing else
        stored = {int(r[0]): str(r[1]) for r in conn.execute("SELECT call_num, status FROM call "
                                                             "WHERE func_name = 'teamfn'")}
        assert set(stored) == set(nums) and set(stored.values()) == {"DONE"}
        counts = {str(r[0]): int(r[1]) for r in conn.execute(
            "SELECT status, n FROM call_count WHERE func_name = 'teamfn' AND n > 0")}
        assert counts == {"DONE": total}  # the triggers lost no update under concurrent writers

        for p in (a, b):  # each operator sees everything, whoever called
            listed = json.loads(p.cli("call", "list", "--function", "teamfn", "--limit", "1000", "--json").stdout)
            assert {c["callNum"] for c in listed} == set(nums)
            fns = {f["name"]: f for f in json.loads(p.cli("fn", "list", "--json").stdout)}
            assert (fns["teamfn"]["calls"], fns["teamfn"]["errors"]) == (total, 0)
        theirs = json.loads(b.cli("call", "get", str(acked["alice"][0]), "--json").stdout)
        assert theirs["status"] == "DONE" and json.loads(theirs["result"])["by"] == "alice"
        theirs = json.loads(a.cli("call", "get", str(acked["bob"][-1]), "--json").stdout)
        assert theirs["status"] == "DONE" and json.loads(theirs["result"])["by"] == "bob"

        for server in (serve_a, serve_b):  # and each serve
            with server.client() as http:
                listed = http.get("/v1/calls", params={"function": "teamfn", "limit": 1000}).json()
                assert {c["callNum"] for c in listed} == set(nums)
                one = http.get(f"/v1/calls/{acked['bob'][0]}").json()
                assert one["status"] == "DONE" and json.loads(one["result"])["by"] == "bob"
                fn = next(f for f in http.get("/v1/functions").json() if f["name"] == "teamfn")
                assert (fn["calls"], fn["errors"]) == (total, 0)

        sources(b, serve_a, pg_url, set(nums), total)
    assert not (a.home / "state.db").exists() and not (b.home / "state.db").exists()  # all of it in the database


def sources(b: Platform, server: ApiServer, pg_url: str, nums: set[int], total: int) -> None:
    """The dashboard's data sources on the database: LocalSource (bob's home, the core) and
    RemoteSource (a serve's /v1) give the same rows."""

    async def read(source: Any) -> dict[str, Any]:
        try:
            return {"nodes": await source.nodes(), "functions": await source.functions(),
                    "calls": await source.calls(function="teamfn", limit=1000), "label": source.label}
        finally:
            await source.close()

    async def both() -> tuple[dict[str, Any], dict[str, Any]]:
        local = LocalSource(Settings(home=b.home, state_url=pg_url))
        return await read(local), await read(RemoteSource(server.url))

    local, remote = asyncio.run(both())
    assert local["label"] == pg_url and remote["label"] == server.url
    for got in (local, remote):
        assert sorted(n["name"] for n in got["nodes"]) == ["n1", "n2"]
        assert all(n["up"] for n in got["nodes"]), got["nodes"]
        fn = next(f for f in got["functions"] if f["name"] == "teamfn")
        assert fn["calls"] == total and fn["errors"] == 0
        assert {c["callNum"] for c in got["calls"]} == nums


SECRET_HANDLER = ("import os\ndef handle(p):\n    with open('/var/run/secrets/faasctl/tkn') as f:\n"
                  "        return {'v': VERSION, 'secret': f.read(), 'env': os.environ.get('MODE')}\n")


def test_the_other_commands_on_the_database(team: tuple[Platform, Platform], tmp_path: Path) -> None:
    """Versions, aliases, rollback, secrets and env, drain, node status and removal, run by
    one operator and seen by the other, on the one database."""
    a, b = team
    src = tmp_path / "vsrc"
    src.mkdir()
    for version in (1, 2):
        (src / "main.py").write_text(f"VERSION = {version}\n" + SECRET_HANDLER)
        if version == 1:
            a.cli("secret", "set", "tkn", input="s3cret")
        a.cli("fn", "deploy", "vfn", str(src), "--runtime", "python", "--handler", "main:handle",
              "--secret", "tkn", "-e", f"MODE=m{version}")

    def result(p: Platform, *ref: str) -> dict[str, Any]:
        out = json.loads(p.cli("invoke", *ref, "--json").stdout)
        assert out["status"] == "DONE", out
        return dict(json.loads(out["result"]))

    assert result(b, "vfn") == {"v": 2, "secret": "s3cret", "env": "m2"}  # bob calls what alice deployed
    assert result(b, "vfn@1")["v"] == 1
    assert json.loads(b.cli("secret", "list", "--json").stdout) == []  # values and their list: alice's home only
    versions = json.loads(b.cli("fn", "versions", "vfn", "--json").stdout)
    assert [(v["version"], v["current"], v["calls"]) for v in versions] == [(2, True, 1), (1, False, 1)]

    b.cli("fn", "alias", "vfn", "live", "--version", "1")
    assert result(a, "vfn")["v"] == 1  # bob's alias, alice's call
    b.cli("fn", "alias", "vfn", "live", "--rm")
    a.cli("fn", "rollback", "vfn")
    assert result(b, "vfn")["v"] == 1
    assert [v["current"] for v in json.loads(a.cli("fn", "versions", "vfn", "--json").stdout)] == [False, True]

    a.cli("node", "drain", "n1")
    drained = {n["name"]: n for n in json.loads(b.cli("node", "list", "--json").stdout)}
    assert drained["n1"]["drained"] is True and drained["n2"]["drained"] is False
    for _ in range(3):
        assert json.loads(b.cli("invoke", "vfn", "--json").stdout)["node"] == "n2"  # bob's calls avoid n1
    b.cli("node", "undrain", "n1")
    assert json.loads(b.cli("invoke", "vfn", "--node", "n1", "--json").stdout)["node"] == "n1"
    assert json.loads(a.cli("node", "status", "n1", "--json").stdout)["up"] is True

    ops = {o["name"]: o for o in json.loads(b.cli("operator", "list", "--json").stdout)["operators"]}
    assert set(ops) == {"alice", "bob"} and ops["bob"]["you"] is True
    a.cli("fn", "rm", "vfn")
    gone = b.cli("invoke", "vfn", check=False)
    assert gone.returncode == 3 and "no function named 'vfn'" in gone.stderr
    assert "vfn" not in {f["name"] for f in json.loads(b.cli("fn", "list", "--json").stdout)}
    assert not (a.home / "state.db").exists() and not (b.home / "state.db").exists()  # all of it in the database


def test_serve_workers_get_the_state_url_option(team: tuple[Platform, Platform], pg_url: str) -> None:
    """`faasctl --state-url URL serve --workers 2`, with no FAASCTL_STATE_URL around: the
    option reaches uvicorn's worker processes, whose calls land in the database."""
    import subprocess

    import httpx

    from tests.support.apiserver import free_port, wait_ready
    from tests.support.platform import FAASCTL, REPO

    a, _ = team
    env = {k: v for k, v in a.env.items() if k != "FAASCTL_STATE_URL"}
    port = free_port()
    log = a.home / "serve-workers.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*FAASCTL, "--state-url", pg_url, "serve", "--port", str(port), "--workers", "2",
                                 "--log-level", "warning"], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                text=True)
    server = ApiServer(f"http://127.0.0.1:{port}", proc, log)
    try:
        wait_ready(server)
        nums: list[int] = []

        def calls(t: int) -> None:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                for i in range(5):
                    reply = http.post("/v1/functions/teamfn/invocations", json={"params": {"i": t * 10 + i}})
                    assert reply.status_code == 200 and reply.json()["status"] == "DONE", reply.text
                    nums.append(int(reply.json()["callNum"]))

        assert not run_all([lambda t=t: calls(t) for t in range(4)])
    finally:
        proc.terminate()
        proc.wait(30)
    stored = {int(r[0]) for r in pg.connect(pg_url).execute("SELECT call_num FROM call WHERE func_name = 'teamfn'")}
    assert len(nums) == 20 and stored == set(nums)
    assert not (a.home / "state.db").exists()
