"""Issue 14 on the agent: several versions of one function on a node, against a real
Docker engine and a real agent (the local node of tests/support/platform.py).

v1 and v2 go through the real `faasctl fn deploy` (which activates); v3 through the
agent client with activate=False. Calls by digest reach their version, a rollback reuses
v1's warm container while a call on v2 finishes, an old version comes back lazily after
an agent restart, and forget_versions frees what only the dropped versions used.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_agent_hardening import wheel
from tests.support.platform import REPO, Platform
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

NAME = "verfn"
BODY = ("import time\nimport mypkg\n\ndef handle(p):\n    time.sleep(float((p or {{}}).get('s', 0)))\n"
        "    return '{tag}/' + mypkg.VERSION\n")


@functools.cache
def same_wheel(version: str) -> bytes:
    """One wheel per version for the whole run: a zip's timestamps would make each build new
    bytes, and so a new dependency key (v1 and v2 must share their dependency volume)."""
    return wheel(version)


def source(tmp_path: Path, tag: str, pkg: str = "1.0") -> Path:
    """A handler that says its version and its dependency's (a shipped wheel: no network)."""
    root = tmp_path / tag
    (root / "wheels").mkdir(parents=True)
    (root / "main.py").write_text(BODY.format(tag=tag))
    (root / "requirements.txt").write_text(f"--no-index\n--find-links wheels\nmypkg=={pkg}\n")
    (root / "wheels" / f"mypkg-{pkg}-py3-none-any.whl").write_bytes(same_wheel(pkg))
    return root


def deploy_args(ctx: Any, digest: str, version: int, runtime: str = "python", name: str = NAME,
                **more: Any) -> dict[str, Any]:
    """The deploy message faasctl sends for a handler (core/functions.py)."""
    from faasctl.core import runtimes

    rt = runtimes.get(ctx, runtime)
    args = {"function": name, "digest": digest, "mode": "handler", "handler": "main:handle", "kind": "native",
            "version": version, "env": {}, "secrets": [],
            "runtime": {k: rt[k] for k in ("image", "path", "dependencies", "run", "handler", "runner")}, **more}
    if rt.get("stem_cells") is not None:
        args["stem_cells"] = rt["stem_cells"]
    return args


class Node:
    """The local node's agent, as faasctl's own client reaches it."""

    def __init__(self, platform: Platform, name: str = NAME) -> None:
        from faasctl.core import nodes

        self.platform, self.name = platform, name
        self.ctx = platform.context()
        self.node = nodes.get(self.ctx, "local")

    def request(self, op: str, args: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
        reply: dict[str, Any] = self.ctx.client(self.node).request(op, args, timeout=timeout)
        return reply

    def call(self, digest: str | None = None, **params: Any) -> dict[str, Any]:
        args: dict[str, Any] = {"function": self.name, "params": params}
        if digest:
            args["digest"] = digest
        return self.request("invoke", args)

    def push(self, folder: Path) -> str:
        from faasctl.core import artifacts

        art = artifacts.prepare(self.ctx, folder)
        artifacts.push(self.ctx, self.node, art.digest)
        return art.digest

    def versions(self) -> dict[str, Any]:
        found: dict[str, Any] = self.request("versions", {"function": self.name})["functions"][self.name]
        return found

    def restart(self) -> None:
        home = self.platform.home / "nodes" / "local"
        subprocess.run([sys.executable, "-m", "faasctl_agent", "stop", "--home", str(home)],
                       check=True, capture_output=True)
        self.platform.cli("node", "add", "local")  # starts it again (idempotent bootstrap)


def digest_of(platform: Platform) -> str:
    from faasctl.core import functions

    return str(functions.get(platform.context(), NAME)["digest"])


def container_ids(platform: Platform, docker: Any, digest: str) -> set[str]:
    return {c["Id"] for c in platform.containers(docker, NAME) if c["Labels"].get("faasctl.digest") == digest[:16]
            and c["State"] == "running"}


def test_versions_side_by_side_rollback_and_restart(platform: Platform, tmp_path: Path, docker: Any) -> None:
    from faasctl.errors import NotFound

    node = Node(platform)
    scope = platform.scope()
    others = {v.name for v in docker.volumes.list(filters={"name": f"faasctl-{scope}-deps-"})}  # other tests'
    platform.cli("fn", "deploy", NAME, str(source(tmp_path, "v1")), "--runtime", "python", "--handler", "main:handle")
    d1 = digest_of(platform)
    assert node.call()["result"] == "v1/1.0"
    v1_containers = container_ids(platform, docker, d1)
    assert len(v1_containers) == 1
    platform.cli("fn", "deploy", NAME, str(source(tmp_path, "v2")), "--runtime", "python", "--handler", "main:handle")
    d2 = digest_of(platform)
    assert d2 != d1
    held = node.versions()
    assert held["active"] == d2 and set(held["versions"]) == {d1, d2}
    assert held["versions"][d1]["warm"] == 1 and held["versions"][d1]["loaded"], "v1 was closed, not retired"

    # by digest: each version; without: the active one; an alias-like mix, interleaved
    first = node.call(d1)
    assert (first["result"], first["start_kind"], first["digest"]) == ("v1/1.0", "warm", d1)
    assert node.call(d2)["result"] == "v2/1.0"
    assert node.call()["result"] == "v2/1.0"
    warm_path = node.request("status", {})["counters"].get("warm_callback_calls", 0)
    for i in range(12):
        digest = (d1, d2, d2)[i % 3]
        reply = node.call(digest)
        assert reply["status"] == "DONE" and reply["digest"] == digest
        assert reply["result"] == ("v1/1.0" if digest == d1 else "v2/1.0")
    assert container_ids(platform, docker, d1) == v1_containers
    assert node.request("status", {})["counters"]["warm_callback_calls"] == warm_path + 12  # Service.warm_invoke
    with pytest.raises(NotFound, match=f"version {'0' * 12} of {NAME} is not on node local"):
        node.call("0" * 64)

    # a rollback while a call runs on v2: v1's warm container takes new calls, v2's call ends DONE
    slow: dict[str, Any] = {}
    other = Node(platform)  # a client of its own: one ZeroMQ socket is not shared between threads
    running = threading.Thread(target=lambda: slow.update(other.call(d2, s=3)))
    running.start()
    assert wait_until(lambda: node.versions()["versions"][d2]["busy"] == 1, 30)
    back = node.request("deploy", deploy_args(node.ctx, d1, 1))
    assert back["reused"] is True and back["active"] == d1 and set(back["versions"]) == {d1, d2}
    again = node.call()
    assert (again["result"], again["start_kind"]) == ("v1/1.0", "warm")
    assert container_ids(platform, docker, d1) == v1_containers, "v1's warm container was not reused"
    running.join(60)
    assert slow["status"] == "DONE" and slow["result"] == "v2/1.0", slow

    # activate=False: loaded beside the others, not what a plain call gets
    d3 = node.push(source(tmp_path, "v3", pkg="2.0"))
    loaded = node.request("deploy", deploy_args(node.ctx, d3, 3, activate=False, max_concurrency=1))
    assert loaded["active"] == d1 and loaded["reused"] is False and set(loaded["versions"]) == {d1, d2, d3}
    assert node.call(d3)["result"] == "v3/2.0"
    assert node.call()["result"] == "v1/1.0"

    # a restart: calls accepted before it run on their own version; old versions come back lazily
    queued = [node.request("invoke", {"function": NAME, "digest": d3, "params": {"s": s}, "async": True})["call_id"]
              for s in (2, 0.1)]  # the second waits: v3 runs one call at a time
    node.restart()
    assert node.versions()["versions"][d2]["loaded"] is False
    for call_id in queued:
        assert wait_until(lambda c=call_id: node.request("call", {"call_id": c})["status"] == "DONE", 60)
        assert node.request("call", {"call_id": call_id})["result"] == "v3/2.0"
    cold = node.call(d2)
    assert (cold["result"], cold["start_kind"]) == ("v2/1.0", "cold")
    assert node.call()["result"] == "v1/1.0"
    status = node.request("status", {})
    assert status["functions"][NAME] == d1 and set(status["versions"][NAME]) == {d1, d2, d3}

    # forget_versions: v2 goes (not v1, active though not named), with what only it used
    home = platform.home / "nodes" / "local"
    deps_volumes = {v.name for v in docker.volumes.list(filters={"name": f"faasctl-{scope}-deps-"})} - others
    assert len(deps_volumes) == 2  # mypkg 1.0 (v1 and v2 share it) and 2.0 (v3)
    artifact = home / "artifacts" / f"{d2}.tar.gz"
    size = artifact.stat().st_size
    image = deploy_args(node.ctx, d1, 1)["runtime"]["image"]
    forgot = node.request("forget_versions", {"function": NAME, "keep": [d3], "keep_images": [image]})
    assert forgot["dropped"] == [d2]
    assert forgot["removed"] == {"artifacts": [d2], "volumes": [f"faasctl-{scope}-code-{d2[:16]}"], "images": []}
    freed = forgot["freed_bytes"]
    assert freed["artifacts"] == size and freed["volumes"] > 0 and freed["total"] == size + freed["volumes"]
    assert not artifact.exists()
    left = volume_names(docker, scope)
    assert f"faasctl-{scope}-code-{d2[:16]}" not in left and deps_volumes <= left
    assert {f"faasctl-{scope}-code-{d[:16]}" for d in (d1, d3)} <= left
    with pytest.raises(NotFound, match=f"version {d2[:12]} of {NAME} is not on node local"):
        node.call(d2)
    assert node.versions()["active"] == d1 and set(node.versions()["versions"]) == {d1, d3}

    # nothing kept: v3 and its own dependency volume go; the active v1 and the one it uses stay
    last = node.request("forget_versions", {"function": NAME, "keep": []})
    assert last["dropped"] == [d3] and last["removed"]["artifacts"] == [d3]
    left = volume_names(docker, scope)
    assert f"faasctl-{scope}-code-{d1[:16]}" in left and f"faasctl-{scope}-code-{d3[:16]}" not in left
    assert len(left & deps_volumes) == 1 and last["freed_bytes"]["volumes"] > 0
    assert (home / "artifacts" / f"{d1}.tar.gz").exists()
    assert node.call()["result"] == "v1/1.0" and set(node.versions()["versions"]) == {d1}

    # faasctl fn rm (remove_function): every version goes, from memory and from the journal
    platform.cli("fn", "rm", NAME)
    assert node.request("versions", {"function": NAME}) == {"functions": {}}
    with pytest.raises(NotFound, match=f"function '{NAME}' is not deployed on node local"):
        node.call(d1)


def volume_names(docker: Any, scope: str) -> set[str]:
    """This agent's code and dependency volumes, as the engine lists them."""
    found = {v.name for v in docker.volumes.list(filters={"label": f"faasctl.node={scope}"})}
    return {n for n in found if n.startswith((f"faasctl-{scope}-code-", f"faasctl-{scope}-deps-"))}


def test_forget_versions_removes_an_image_only_a_dropped_version_used(platform: Platform, tmp_path: Path,
                                                                     docker: Any) -> None:
    """An image this agent built, used by the dropped version alone, goes; its unshared bytes are counted."""
    folder = tmp_path / "rt"
    shutil.copytree(REPO / "runtimes" / "python", folder)
    with (folder / "Dockerfile").open("a") as out:  # a tag of its own, with bytes no other image shares
        out.write(f"USER 0:0\nRUN head -c 1048576 /dev/urandom > /blob-{os.urandom(4).hex()}\nUSER 65534:65534\n")
    platform.cli("runtime", "add", "pyver", "--from", str(folder))
    node = Node(platform, "verimg")
    try:
        image = deploy_args(node.ctx, "0" * 64, 1, runtime="pyver")["runtime"]["image"]
        assert docker.images.get(image).labels.get("faasctl.node") == platform.scope()  # built by this agent
        digest = node.push(source(tmp_path, "v1"))
        node.request("deploy", deploy_args(node.ctx, digest, 1, runtime="pyver", name="verimg", activate=False))
        assert node.call(digest)["result"] == "v1/1.0"
        kept = node.request("forget_versions", {"function": "verimg", "keep": [], "keep_images": [image]})
        assert kept["dropped"] == [digest] and kept["removed"]["images"] == [] and docker.images.list(name=image)
        again = node.push(source(tmp_path / "again", "v1"))
        assert again == digest  # the same archive: deployed anew, then dropped with nothing kept
        node.request("deploy", deploy_args(node.ctx, digest, 1, runtime="pyver", name="verimg", activate=False))
        gone = node.request("forget_versions", {"function": "verimg", "keep": []})
        assert gone["removed"]["images"] == [image] and gone["freed_bytes"]["images"] >= 1048576
        assert docker.images.list(name=image) == []
    finally:
        platform.cli("runtime", "rm", "pyver", check=False)
