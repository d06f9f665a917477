"""Drain across two real agents: a drained node gets no new calls (its running ones
finish), `invoke --node` refuses it, `node list`/`node status` and /v1/nodes show it,
and the /v1 drain and node removal routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.apiserver import serve
from tests.support.platform import Platform, local_nodes

pytestmark = pytest.mark.integration

TRIVIAL = "def handle(p):\n    return 'ok'\n"
NAPPY = "import time\n\ndef handle(p):\n    time.sleep(2)\n    return 'napped'\n"
TOKEN = "drain-test-token"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Two agents (n1, n2) on this machine under one state file."""
    with local_nodes(tmp_path_factory.mktemp("faasctl-drain"), extra=("n3",)) as plat:
        yield plat


def deploy(plat: Platform, tmp_path: Path, name: str, body: str = TRIVIAL) -> None:
    src = tmp_path / name
    src.mkdir(exist_ok=True)
    (src / "main.py").write_text(body)
    plat.cli("fn", "deploy", name, str(src), "--runtime", "python", "--handler", "main:handle",
             "--placement", "round-robin")


def node_of(plat: Platform, name: str) -> str:
    call = json.loads(plat.cli("invoke", name, "--json").stdout)
    assert call["status"] == "DONE", call
    return str(call["node"])


def listed(plat: Platform) -> dict[str, dict[str, object]]:
    return {n["name"]: n for n in json.loads(plat.cli("node", "list", "--json").stdout)}


def test_drained_node_gets_no_calls_until_undrained(pair: Platform, tmp_path: Path) -> None:
    deploy(pair, tmp_path, "dr")
    assert {node_of(pair, "dr") for _ in range(2)} == {"n1", "n2"}  # round-robin uses both
    assert "n2 drained" in pair.cli("node", "drain", "n2").stdout
    try:
        assert "already" in pair.cli("node", "drain", "n2").stdout  # idempotent
        assert [node_of(pair, "dr") for _ in range(6)] == ["n1"] * 6
        nodes = listed(pair)
        assert nodes["n2"]["drained"] is True and nodes["n1"]["drained"] is False
        assert nodes["n2"]["status"]["up"] is True  # type: ignore[index]
        assert "drained" in pair.cli("node", "list").stdout
        status = json.loads(pair.cli("node", "status", "n2", "--json").stdout)
        assert status["drained"] is True and status["up"] is True
        assert "drained" in pair.cli("node", "status", "n2").stdout

        refused = pair.cli("invoke", "dr", "--node", "n2", check=False)
        assert refused.returncode == 4, refused.stderr  # Conflict
        assert "node n2 is drained" in refused.stderr and "faasctl node undrain n2" in refused.stderr
    finally:
        pair.cli("node", "undrain", "n2")
    assert "already" in pair.cli("node", "undrain", "n2").stdout
    assert listed(pair)["n2"]["drained"] is False
    assert "n2" in {node_of(pair, "dr") for _ in range(2)}  # round-robin reaches it again


def test_a_running_call_finishes_on_a_node_drained_meanwhile(pair: Platform, tmp_path: Path) -> None:
    deploy(pair, tmp_path, "nap", body=NAPPY)
    num = pair.cli("invoke", "nap", "--async", "--node", "n2").stdout.strip()
    pair.cli("node", "drain", "n2")
    try:
        call = json.loads(pair.cli("call", "wait", num, "--json").stdout)
        assert call["status"] == "DONE" and call["node"] == "n2" and call["result"] == "napped"
    finally:
        pair.cli("node", "undrain", "n2")


def test_drain_of_an_unknown_node_is_not_found(pair: Platform) -> None:
    for command in ("drain", "undrain"):
        out = pair.cli("node", command, "nope", check=False)
        assert out.returncode == 3 and "no node named 'nope'" in out.stderr and "hint:" in out.stderr


def test_api_drain_undrain_and_remove(pair: Platform) -> None:
    from faasctl.core import nodes

    nodes.add_local(pair.context(), "n3")
    with serve(pair, "--token-file", str(token_file(pair)), token=TOKEN) as api, api.client() as c:
        rows = {n["name"]: n for n in c.get("/v1/nodes").json()}
        assert rows["n1"]["drained"] is False and isinstance(rows["n1"]["stem_cells"], dict)
        try:
            assert c.post("/v1/nodes/n1/drain").status_code == 204
            assert c.post("/v1/nodes/n1/drain").status_code == 204  # idempotent
            rows = {n["name"]: n for n in c.get("/v1/nodes").json()}
            assert rows["n1"]["drained"] is True and rows["n1"]["drained_since"] and rows["n2"]["drained"] is False
            assert listed(pair)["n1"]["drained"] is True  # the CLI sees what the API did
            pair.cli("fn", "deploy", "api-dr", str(api_function(pair)), "--runtime", "python",
                     "--handler", "main:handle")
            refused = c.post("/v1/functions/api-dr/invocations", json={"node": "n1"})
            assert refused.status_code == 409 and "drained" in refused.json()["error"], refused.text
            placed = c.post("/v1/functions/api-dr/invocations", json={})
            assert placed.status_code == 200 and placed.json()["node"] in ("n2", "n3"), placed.text
        finally:
            assert c.delete("/v1/nodes/n1/drain").status_code == 204
        assert c.delete("/v1/nodes/n1/drain").status_code == 204
        assert {n["name"]: n for n in c.get("/v1/nodes").json()}["n1"]["drained"] is False
        missing = c.post("/v1/nodes/nope/drain")
        assert missing.status_code == 404 and missing.json()["hint"]
        assert c.delete("/v1/nodes/nope").status_code == 404
        assert c.post("/v1/nodes/n3/drain").status_code == 204  # removal forgets the mark too
        assert c.delete("/v1/nodes/n3").status_code == 204
        assert "n3" not in {n["name"] for n in c.get("/v1/nodes").json()}
        assert c.post("/v1/nodes/n3/drain").status_code == 404
        unauthenticated = c.post("/v1/nodes/n1/drain", headers={"Authorization": "Bearer wrong"})
        assert unauthenticated.status_code == 401
    assert "n3" not in listed(pair)


def token_file(plat: Platform) -> Path:
    path = plat.home / "api-token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def api_function(plat: Platform) -> Path:
    src = plat.home / "api-dr-src"
    src.mkdir(exist_ok=True)
    (src / "main.py").write_text(TRIVIAL)
    return src
