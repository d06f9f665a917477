"""A bare operator machine and its nodes, all on a docker network with no route out.

The operator container (faasctl/operator:test: python3 only, no pip, ssh, rsync or
checkout) gets exactly three things: dist/faasctl, an SSH private key and a copy of
examples/dice. Node containers (sshd, python3-venv, the host's Docker socket) sit on the
same `internal` network, so every byte faasctl needs must come out of the single file.
The test process itself only speaks to the Docker engine over its unix socket.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.support.sshd import fingerprint_sha256

OPERATOR_IMAGE = "faasctl/operator:test"
HOME = "/root"
ENV = {"FAASCTL_HOME": f"{HOME}/.faasctl"}
COMMAND_TIMEOUT_S = 600  # coreutils `timeout` inside the container bounds every command
BANNER_ATTEMPTS = 60
LABEL = "faasctl.test"
FAIL_TAIL = 6000  # characters of output a failure shows


@dataclass
class Exec:
    code: int
    stdout: str
    stderr: str


@dataclass
class Node:
    image: str
    container: Any
    ip: str

    def fingerprint(self) -> str:
        """Read out of band (docker exec), as an operator would from the node's console."""
        line = self.container.exec_run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).output.decode()
        return fingerprint_sha256(line.strip())


@dataclass
class Site:
    network: Any
    operator: Any
    nodes: list[Node] = field(default_factory=list)

    def run(self, *cmd: str, check: bool = False) -> Exec:
        """Run CMD in the operator container, in /root with FAASCTL_HOME set."""
        result = self.operator.exec_run(["timeout", str(COMMAND_TIMEOUT_S), *cmd], environment=ENV,
                                        workdir=HOME, demux=True)
        out, err = result.output
        done = Exec(result.exit_code, (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace"))
        if check and done.code != 0:
            pytest.fail(f"{' '.join(cmd)} exited {done.code} in the operator container:\n"
                        f"{done.stderr[-FAIL_TAIL:]}\n{done.stdout[-FAIL_TAIL:]}")
        return done

    def faasctl(self, *args: str, check: bool = True) -> Exec:
        return self.run("./faasctl", *args, check=check)


def _tar(entries: list[tuple[str, Path, int]]) -> bytes:
    """(name in archive, source file, mode) -> tar bytes for put_archive."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, source, mode in entries:
            info = tar.gettarinfo(str(source), arcname=name)
            info.mode, info.uid, info.gid, info.uname, info.gname = mode, 0, 0, "root", "root"
            with source.open("rb") as fh:
                tar.addfile(info, fh)
    return buf.getvalue()


def _require(client: Any, image: str) -> None:
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {image} is missing; run scripts/setup.sh (it builds the test images)")


def _wait_for_sshd(site: Site, node: Node) -> None:
    """A plain python3 check from the operator: the node's sshd answers on the network."""
    probe = ("import socket,sys,time\n"
             f"for _ in range({BANNER_ATTEMPTS}):\n"
             "    try:\n"
             f"        s = socket.create_connection(('{node.ip}', 22), 2); s.settimeout(5)\n"
             "        sys.exit(0 if s.recv(64).startswith(b'SSH-2.0-') else 3)\n"
             "    except OSError:\n"
             "        time.sleep(0.5)\n"
             "sys.exit(4)\n")
    done = site.run("python3", "-c", probe)
    if done.code != 0:
        pytest.fail(f"sshd on {node.image} ({node.ip}) did not answer the operator: exit {done.code} {done.stderr}")


@contextlib.contextmanager
def single_file_site(dist: Path, key: Path, public_key: str, node_images: list[str],
                     example: Path) -> Iterator[Site]:
    """Start the internal network, the operator (with DIST, KEY and EXAMPLE copied in) and
    one node per image; remove all of them on exit."""
    client = docker.from_env()
    for image in (OPERATOR_IMAGE, *node_images):
        _require(client, image)
    tag = uuid.uuid4().hex[:8]
    labels = {LABEL: f"single-file-{tag}"}
    network = client.networks.create(f"faasctl-sf-{tag}", driver="bridge", internal=True, labels=labels)
    started: list[Any] = []
    try:
        operator = client.containers.run(OPERATOR_IMAGE, detach=True, name=f"faasctl-sf-op-{tag}",
                                         network=network.name, labels=labels)
        started.append(operator)
        site = Site(network, operator)
        files = [("faasctl", dist, 0o755), ("key", key, 0o600)]
        files += [(f"dice/{p.name}", p, 0o644) for p in sorted(example.iterdir()) if p.is_file()]
        if not operator.put_archive(HOME, _tar(files)):
            pytest.fail("copying dist/faasctl into the operator container failed")
        for i, image in enumerate(node_images):
            c = client.containers.run(
                image, detach=True, name=f"faasctl-sf-node{i}-{tag}", network=network.name, labels=labels,
                environment={"AUTHORIZED_KEY": public_key},
                volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"}})
            started.append(c)
            c.reload()
            site.nodes.append(Node(image, c, c.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]))
        for node in site.nodes:
            _wait_for_sshd(site, node)
        network.reload()
        yield site
    finally:
        for c in started:
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()
        client.close()
