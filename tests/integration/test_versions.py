"""Issue 14 on real agents: versions, rollback with calls in flight, NAME@N, aliases with
a weighted canary, garbage collection of old versions on the node, the /v1 routes, and
a rollback across two nodes with one of them down."""

from __future__ import annotations

import json
import math
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.apiserver import serve
from tests.support.platform import REPO, Platform, local_nodes
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

BODY = """import time

def handle(p):
    time.sleep(float((p or {{}}).get("sleep", 0)))
    return {{"v": {v}}}
"""


def source(plat: Platform, name: str, v: int) -> Path:
    src = plat.home / "src" / f"{name}-{v}"
    src.mkdir(parents=True, exist_ok=True)
    (src / "main.py").write_text(f"# {name}: code of its own, so no volume is shared with another test's\n"
                                 + BODY.format(v=v))
    return src


def deploy(plat: Platform, name: str, v: int, *extra: str) -> dict[str, Any]:
    out = plat.cli("fn", "deploy", name, str(source(plat, name, v)), "--runtime", "python", "--handler",
                   "main:handle", "--preload", "function", "--json", *extra)
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def call(plat: Platform, ref: str, *args: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(plat.cli("invoke", ref, "--json", *args).stdout)
    assert record["status"] in ("DONE", "PENDING"), record
    return record


def served(record: dict[str, Any]) -> int:
    return int(json.loads(record["result"])["v"])


def versions(plat: Platform, name: str) -> dict[int, dict[str, Any]]:
    return {r["version"]: r for r in json.loads(plat.cli("fn", "versions", name, "--json").stdout)}


def test_rollback_lets_calls_in_flight_finish_and_reuses_the_warm_pool(platform: Platform) -> None:
    assert deploy(platform, "vr", 1)["version"] == 1
    assert served(call(platform, "vr")) == 1  # leaves a warm container of version 1
    assert deploy(platform, "vr", 2)["version"] == 2
    assert served(call(platform, "vr")) == 2
    slow = call(platform, "vr", "--async", "-p", "sleep=3")
    assert wait_until(lambda: json.loads(platform.cli("call", "get", str(slow["callNum"]), "--json").stdout)
                      ["status"] == "RUNNING", 30)
    rolled = json.loads(platform.cli("fn", "rollback", "vr", "--json").stdout)
    assert (rolled["from"], rolled["version"], rolled["changed"]) == (2, 1, True)
    assert rolled["nodes"]["local"]["reused"] is True, rolled  # version 1's pool was still loaded
    after = call(platform, "vr")
    assert served(after) == 1 and after["startKind"] == "warm" and after["version"] == 1
    done = json.loads(platform.cli("call", "wait", str(slow["callNum"]), "--json").stdout)
    assert done["status"] == "DONE" and served(done) == 2 and done["version"] == 2  # not killed mid-call
    assert served(call(platform, "vr@2")) == 2  # an older version by number, beside the current one
    listed = versions(platform, "vr")
    assert listed[1]["current"] and not listed[2]["current"] and listed[2]["nodes"] == ["local"]
    assert listed[2]["calls"] == 3 and listed[1]["calls"] == 2 and listed[1]["kind"] == "native"
    again = platform.cli("fn", "rollback", "vr", check=False)
    assert again.returncode == 2 and "no version before 1" in again.stderr
    assert "already" in platform.cli("fn", "rollback", "vr", "--to", "1").stdout  # idempotent
    assert json.loads(platform.cli("fn", "rollback", "vr", "--to", "2", "--json").stdout)["version"] == 2
    assert served(call(platform, "vr")) == 2
    missing = platform.cli("invoke", "vr@9", check=False)
    assert missing.returncode == 3 and "no version 9" in missing.stderr
    assert deploy(platform, "vr", 3)["version"] == 3  # numbering goes on past a rollback


def test_alias_with_a_canary_splits_calls_per_call(platform: Platform) -> None:
    deploy(platform, "va", 1)
    deploy(platform, "va", 2)
    out = platform.cli("fn", "alias", "va", "live", "--version", "1", "--weight", "2=0.2")
    assert "0.2 of calls to version 2" in out.stdout
    from faasctl.core.invoke import invoke

    ctx = platform.context()
    n, p = 1000, 0.2
    records = [invoke(ctx, "va", {}) for _ in range(n)]
    ctx.close()
    assert all(r["status"] == "DONE" and r["alias"] == "live" and served(r) == r["version"] for r in records)
    canary = sum(1 for r in records if r["version"] == 2)
    bound = 5 * math.sqrt(n * p * (1 - p))  # five standard deviations: a false failure is under 1e-6
    assert abs(canary - n * p) <= bound, canary
    assert {served(call(platform, "va@1")) for _ in range(3)} == {1}
    platform.cli("fn", "alias", "va", "live", "--version", "2")  # one row changes: the move is atomic
    assert {served(call(platform, "va")) for _ in range(5)} == {2}
    platform.cli("fn", "alias", "va", "beta", "--version", "1")
    beta = call(platform, "va@beta")
    assert served(beta) == 1 and beta["alias"] == "beta"
    stored = json.loads(platform.cli("call", "get", str(beta["callNum"]), "--json").stdout)
    assert (stored["version"], stored["alias"]) == (1, "beta")
    deployed = deploy(platform, "va", 3)
    assert deployed["live"] == 2 and served(call(platform, "va")) == 2  # live stays until moved
    for args, code, words in ((("--version", "9"), 3, "no version 9"), (("--version", "1", "--weight", "2=1.5"), 2,
                              "share"), (("--version", "1", "--weight", "1=0.2"), 2, "own version")):
        bad = platform.cli("fn", "alias", "va", "live", *args, check=False)
        assert bad.returncode == code and words in bad.stderr, bad.stderr
    assert "removed" in platform.cli("fn", "alias", "va", "beta", "--rm").stdout
    assert platform.cli("invoke", "va@beta", check=False).returncode == 3


def code_volumes(docker: Any, plat: Platform) -> set[str]:
    prefix = f"faasctl-{plat.scope()}-code-"
    return {v.name for v in docker.volumes.list() if v.name.startswith(prefix)}


def test_versions_beyond_keep_are_collected_on_the_node(platform: Platform, docker: Any) -> None:
    digests = {v: deploy(platform, "vg", v, "--keep-versions", "2")["digest"] for v in (1, 2)}
    before = code_volumes(docker, platform)
    digests[3] = deploy(platform, "vg", 3)["digest"]  # keeps 2: version 1 goes
    fourth = deploy(platform, "vg", 4)
    digests[4] = fourth["digest"]
    vols = code_volumes(docker, platform)
    gone = {f"faasctl-{platform.scope()}-code-{digests[v][:16]}" for v in (1, 2)}
    kept = {f"faasctl-{platform.scope()}-code-{digests[v][:16]}" for v in (3, 4)}
    assert gone <= before and not gone & vols and kept <= vols
    artifacts = platform.home / "nodes" / "local" / "artifacts"
    assert not any((artifacts / f"{digests[v]}.tar.gz").exists() for v in (1, 2))
    assert all((artifacts / f"{digests[v]}.tar.gz").exists() for v in (3, 4))
    listed = versions(platform, "vg")
    assert listed[1]["nodes"] == [] and listed[2]["nodes"] == [] and listed[4]["nodes"] == ["local"]
    assert fourth["gc"]["local"]["dropped"] == [2] and fourth["gc"]["local"]["freed_bytes"] > 0
    rolled = json.loads(platform.cli("fn", "rollback", "vg", "--to", "1", "--json").stdout)  # sent again
    assert rolled["nodes"]["local"]["reused"] is False and served(call(platform, "vg")) == 1


def test_collection_frees_dependency_volumes_and_images_nothing_uses(platform: Platform, docker: Any) -> None:
    """Version 1 ran in its own runtime image with installed requirements; once it is
    beyond the keep count and the runtime is forgotten, both go from the node."""
    old = f"py-{os.urandom(3).hex()}"  # a new name: an image left by another run is not this agent's to remove
    platform.cli("runtime", "add", old, "--from", "runtimes/python")
    tag = next(r["image"] for r in json.loads(platform.cli("runtime", "list", "--json").stdout) if r["name"] == old)
    src = platform.home / "src" / "vd-1"
    src.mkdir(parents=True)
    for item in ("main.py", "requirements.txt"):
        (src / item).write_text((REPO / "examples" / "sizes" / item).read_text())
    (src / "wheels").mkdir()
    for wheel in (REPO / "examples" / "sizes" / "wheels").iterdir():
        (src / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
    first = json.loads(platform.cli("fn", "deploy", "vd", str(src), "--runtime", old, "--handler", "main:handle",
                                    "--keep-versions", "2", "--json").stdout)
    assert first["nodes"]["local"]["dependencies"] == "installed"
    deps = {v.name for v in docker.volumes.list() if "-deps-" in v.name}
    assert deploy(platform, "vd", 2)["gc"] == {}  # the python runtime, no requirements; both kept
    platform.cli("runtime", "rm", old)  # no function's current version uses it now
    third = deploy(platform, "vd", 3, "--keep-versions", "1")["gc"]["local"]
    assert third["dropped"] == [1, 2] and third["freed_bytes"] > 0, third
    gone = deps - {v.name for v in docker.volumes.list() if "-deps-" in v.name}
    assert gone and gone <= set(third["removed"]["volumes"]), third  # version 1's installed requirements
    assert tag in third["removed"]["images"], third
    assert tag not in {t for img in docker.images.list() for t in img.tags}
    assert served(call(platform, "vd")) == 3


def test_the_v1_routes(platform: Platform) -> None:
    deploy(platform, "vapi", 1)
    deploy(platform, "vapi", 2)
    with serve(platform) as api, api.client() as c:
        rows = c.get("/v1/functions/vapi/versions").json()
        assert [r["version"] for r in rows] == [2, 1] and rows[0]["current"]
        one = c.post("/v1/functions/vapi/invocations", params={"version": 1}, json={"params": {}})
        assert one.status_code == 200 and served(one.json()) == 1 and one.json()["version"] == 1
        put = c.put("/v1/functions/vapi/aliases/beta", json={"version": 1})
        assert put.status_code == 200 and put.json()["version"] == 1
        by_alias = c.post("/v1/functions/vapi/invocations", params={"alias": "beta"}).json()
        assert served(by_alias) == 1 and by_alias["alias"] == "beta"
        assert c.get("/v1/functions/vapi/aliases").json()[0]["alias"] == "beta"
        rolled = c.post("/v1/functions/vapi/rollback", json={})
        assert rolled.status_code == 200 and rolled.json()["version"] == 1
        seed = c.post("/invokeFunction", json={"funcName": "vapi", "params": {}})
        assert seed.status_code < 300  # the seed's route calls the live version
        assert c.put("/v1/functions/vapi/aliases/Bad", json={"version": 1}).status_code == 400
        assert c.put("/v1/functions/vapi/aliases/beta", json={"version": 7}).status_code == 404
        assert c.delete("/v1/functions/vapi/aliases/beta").status_code == 204
        assert c.post("/v1/functions/vapi/invocations", params={"alias": "beta"}).status_code == 404


@pytest.fixture()
def pair(tmp_path: Path) -> Iterator[Platform]:
    with local_nodes(tmp_path / "home") as plat:
        yield plat


def kill_agent(plat: Platform, node: str) -> None:
    home = plat.home / "nodes" / node
    for pid_file in ("agent.pid", "agent.child.pid"):
        pid = int((home / pid_file).read_text())
        os.kill(pid, signal.SIGKILL)


def test_rollback_across_two_nodes_with_one_down(pair: Platform) -> None:
    deploy(pair, "vn", 1)
    deploy(pair, "vn", 2)
    rolled = json.loads(pair.cli("fn", "rollback", "vn", "--json").stdout)
    assert sorted(rolled["nodes"]) == ["n1", "n2"] and rolled["failed"] == {}
    assert {served(call(pair, "vn", "--node", n)) for n in ("n1", "n2")} == {1}
    kill_agent(pair, "n2")
    forward = pair.cli("fn", "rollback", "vn", "--to", "2", check=False)
    assert forward.returncode == 13 and "n2" in forward.stderr and "node sync" in forward.stderr, forward.stderr
    assert "to 2 on n1" in forward.stdout
    nodes = {n["name"]: n for n in json.loads(pair.cli("node", "list", "--json").stdout)}
    assert nodes["n2"]["out_of_date"] == [{"function": "vn", "has": 1, "wants": 2}] and not nodes["n1"]["out_of_date"]
    assert "out of date" in pair.cli("node", "list").stdout
    assert {served(call(pair, "vn")) for _ in range(4)} == {2}  # served by n1 meanwhile
    from faasctl.core import nodes as core_nodes

    core_nodes.add_local(pair.context(), "n2")  # the agent comes back (its journal still says version 1)
    synced = json.loads(pair.cli("node", "sync", "--json").stdout)
    assert synced == {"synced": {"n2": ["vn v2"]}, "failed": {}}
    nodes = {n["name"]: n for n in json.loads(pair.cli("node", "list", "--json").stdout)}
    assert nodes["n2"]["out_of_date"] == []
    assert served(call(pair, "vn", "--node", "n2")) == 2
    assert json.loads(pair.cli("node", "sync", "--json").stdout) == {"synced": {}, "failed": {}}  # idempotent
