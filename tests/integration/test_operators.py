"""Issue 15, operators: each operator keeps their own CURVE key; `operator add/rm` authorise
them on every node; a removed key is refused at once, on a connection opened before.

Two real local agents (n1, n2) under operator A's home. Operator B is a second
FAASCTL_HOME holding a copy of A's state file but its own, new key pair."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.platform import Platform, local_nodes

pytestmark = pytest.mark.integration
HANDLER = "def handle(p):\n    return {'who': 'ops', 'n': (p or {}).get('n')}\n"


@pytest.fixture()
def teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Platform, Platform]]:
    monkeypatch.setenv("FAASCTL_OPERATOR", "alice")
    with local_nodes(tmp_path / "a", ("n1", "n2"), extra=("n3",)) as a:
        a.env["FAASCTL_OPERATOR"] = "alice"
        src = tmp_path / "src"
        src.mkdir()
        (src / "main.py").write_text(HANDLER)
        a.cli("fn", "deploy", "opsfn", str(src), "--runtime", "python", "--handler", "main:handle")
        b_home = tmp_path / "b"
        b_home.mkdir(mode=0o700)
        with sqlite3.connect(a.home / "state.db") as live, sqlite3.connect(b_home / "state.db") as copy:
            live.backup(copy)  # B shares A's view of nodes and functions, not A's keys
        yield a, Platform(b_home, {**os.environ, "FAASCTL_HOME": str(b_home), "FAASCTL_OPERATOR": "bob"})


def b_context(b: Platform) -> object:
    os.environ["FAASCTL_OPERATOR"] = "bob"  # read when the context makes its agent client
    return b.context()


def test_operator_added_then_removed_is_refused_on_the_same_connection(teams: tuple[Platform, Platform]) -> None:
    a, b = teams
    b_key = json.loads(b.cli("operator", "key", "--json").stdout)
    assert b_key["name"] == "bob" and len(b_key["public_key"]) == 40
    assert (b.home / "keys" / "operator.json").stat().st_mode & 0o777 == 0o600

    refused = b.cli("invoke", "opsfn", "--node", "n1", check=False)
    assert refused.returncode == 14, refused.stderr  # errors.NotAuthorised
    lines = refused.stderr.strip().splitlines()
    assert lines[0] == "error: this operator's key is not authorised on node n1", refused.stderr
    assert lines[1] == f"hint: ask an operator to run: faasctl operator add bob --public-key '{b_key['public_key']}'"

    added = json.loads(a.cli("operator", "add", "bob", "--public-key", b_key["public_key"], "--json").stdout)
    assert added["changed"] is True and added["nodes"] == {"n1": "ok", "n2": "ok"}
    again = json.loads(a.cli("operator", "add", "bob", "--public-key", b_key["public_key"], "--json").stdout)
    assert again["changed"] is False  # idempotent
    out = json.loads(b.cli("invoke", "opsfn", "--node", "n2", "-p", "n=1", "--json").stdout)
    assert json.loads(out["result"]) == {"who": "ops", "n": "1"}

    from faasctl.cli.nodesync import catch_up
    from faasctl.core import nodes as core_nodes

    actx = a.context()
    n3 = core_nodes.add_local(actx, "n3")  # a node added later gets the whole set, as `node add` does
    catch_up(actx, ["n3"])
    assert b_key["public_key"] in actx.client(n3).request("operators")["keys"]
    actx.close()

    from faasctl.core.invoke import invoke
    from faasctl.errors import NotAuthorised

    ctx = b_context(b)  # one long-lived client: the same socket for every call
    for n in range(3):
        record = invoke(ctx, "opsfn", {"n": n}, node="n1")  # type: ignore[arg-type]
        assert json.loads(record["result"]) == {"who": "ops", "n": n}
    client = next(iter(ctx._clients.values()))  # type: ignore[attr-defined]
    sock = client._sock
    assert sock is not None

    a.cli("operator", "rm", "bob")
    with pytest.raises(NotAuthorised) as info:
        invoke(ctx, "opsfn", {"n": 9}, node="n1")  # type: ignore[arg-type]
    assert info.value.message == "this operator's key is not authorised on node n1"
    with pytest.raises(NotAuthorised):  # an async call (the agent's coroutine path) and a hello too
        invoke(ctx, "opsfn", {"n": 10}, node="n1", is_async=True)  # type: ignore[arg-type]
    with pytest.raises(NotAuthorised):
        client.request("hello")
    assert client._sock is sock  # the same connection, refused per request (not at a handshake)
    status = a.context().client({"name": "n1", **_node(a, "n1")}).request("status")
    assert status["counters"]["requests_refused_unauthorized"] >= 3
    ctx.close()  # type: ignore[attr-defined]

    # The agent's authorised set on disk: one 0600 file per operator in a 0700 folder.
    folder = a.home / "nodes" / "n1" / "keys" / "authorized"
    assert folder.is_symlink() and sorted(p.name for p in folder.iterdir()) == ["alice.key"]
    assert folder.resolve().stat().st_mode & 0o777 == 0o700
    assert (folder / "alice.key").stat().st_mode & 0o777 == 0o600


def _node(plat: Platform, name: str) -> dict[str, str]:
    nodes = {n["name"]: n for n in json.loads(plat.cli("node", "list", "--json").stdout)}
    row = nodes[name]
    return {"zmq_endpoint": row["zmq_endpoint"], "server_key": row["server_key"], "kind": row["kind"]}


def test_refusals_listing_and_a_node_down_during_rm(teams: tuple[Platform, Platform]) -> None:
    a, b = teams
    bad = a.cli("operator", "add", "eve", "--public-key", "not-a-key", check=False)
    assert bad.returncode == 2 and "is not a CURVE public key" in bad.stderr and "hint:" in bad.stderr, bad.stderr
    bad_name = a.cli("operator", "add", "Eve!", "--public-key", "x" * 40, check=False)
    assert bad_name.returncode == 2, bad_name.stderr
    own = a.cli("operator", "rm", "alice", check=False)
    assert own.returncode == 4 and "lock you out" in own.stderr, own.stderr
    assert a.cli("operator", "rm", "nobody", check=False).returncode == 3

    b_key = json.loads(b.cli("operator", "key", "--json").stdout)["public_key"]
    a.cli("operator", "add", "bob", f"--public-key={b_key}")
    clash = a.cli("operator", "add", "bob", "--public-key", "a" * 40, check=False)
    assert clash.returncode == 4 and "exists with another key" in clash.stderr
    listed = json.loads(a.cli("operator", "list", "--json").stdout)
    assert listed["node_count"] == 2 and listed["out_of_step"] == []
    rows = {r["name"]: r for r in listed["operators"]}
    assert rows["alice"]["you"] is True and rows["bob"]["you"] is False
    assert rows["bob"]["public_key"] == b_key and rows["alice"]["nodes"] == rows["bob"]["nodes"] == 2
    assert "bob" in a.cli("operator", "list").stdout

    stop = [sys.executable, "-m", "faasctl_agent", "stop", "--home", str(a.home / "nodes" / "n2")]
    subprocess.run(stop, check=True, capture_output=True, env=a.env, timeout=120)
    removed = a.cli("operator", "rm", "bob", check=False)
    assert removed.returncode == 13, removed.stderr  # NodesFailed: removed here and on n1, not on n2
    assert "not on n2" in removed.stderr and "faasctl node sync n2" in removed.stderr, removed.stderr
    listed = json.loads(a.cli("operator", "list", "--json").stdout)
    assert [r["name"] for r in listed["operators"]] == ["alice"] and listed["out_of_step"] == ["n2"]

    from faasctl.core import nodes as core_nodes

    core_nodes.add_local(a.context(), "n2")  # back, with its old set on disk: bob still accepted
    assert b.cli("invoke", "opsfn", "--node", "n2", check=False).returncode == 0
    synced = json.loads(a.cli("node", "sync", "n2", "--json").stdout)
    assert synced == {"synced": {"n2": ["operators (1 key)"]}, "failed": {}}
    assert json.loads(a.cli("operator", "list", "--json").stdout)["out_of_step"] == []
    assert b.cli("invoke", "opsfn", "--node", "n2", check=False).returncode == 14
    assert json.loads(a.cli("node", "sync", "--json").stdout) == {"synced": {}, "failed": {}}  # in step: idempotent
    assert a.cli("invoke", "opsfn", "--node", "n2").returncode == 0
