"""Node containers for e2e tests: faasctl/node:test (sshd, rsync, python3) with the host's
Docker socket, sshd and the agent's port (7701) published on 127.0.0.1.

Agents inside talk to the host's engine, so function containers of an agent that died
with its node container stay behind: `remove_leftovers` clears them by the agent's label.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, cast

import docker
import pytest

from tests.support.sshd import fingerprint_sha256, wait_for_ssh_banner

IMAGE = "faasctl/node:test"
SYSTEMD_IMAGE = "faasctl/node-systemd:test"


@contextlib.contextmanager
def node_containers(count: int, public_key: str, image: str = IMAGE) -> Iterator[list[Any]]:
    client = docker.from_env()
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {image} is missing; run scripts/setup.sh (it builds the node images)")
    from testcontainers.core.container import DockerContainer

    containers: list[Any] = []
    try:
        for _ in range(count):
            c = (DockerContainer(image).with_env("AUTHORIZED_KEY", public_key)
                 .with_volume_mapping("/var/run/docker.sock", "/var/run/docker.sock", "rw"))
            if image == SYSTEMD_IMAGE:  # systemd as init, unprivileged
                c = (c.with_volume_mapping("/sys/fs/cgroup", "/sys/fs/cgroup", "ro")
                     .with_tmpfs_mount("/run").with_tmpfs_mount("/run/lock"))
            c.ports["22/tcp"] = cast("int | None", ("127.0.0.1",))
            c.ports["7701/tcp"] = cast("int | None", ("127.0.0.1",))
            c.start()
            containers.append(c)
        for c in containers:
            wait_for_ssh_banner("127.0.0.1", int(c.get_exposed_port(22)), 30)
        yield containers
    finally:
        for c in containers:
            with contextlib.suppress(docker.errors.NotFound):  # a test may have stopped it
                c.stop()  # removes the container too
        client.close()


def host_key_fingerprint(container: Any) -> str:
    """Read out of band (docker exec), as an operator would from the node's console."""
    line = container.exec(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).output.decode().strip()
    return fingerprint_sha256(line)


def inventory_entry(name: str, container: Any, **extra: str) -> str:
    fields = {"host": f"127.0.0.1:{container.get_exposed_port(22)}",
              "agent_address": f"127.0.0.1:{container.get_exposed_port(7701)}",
              "host_key_fingerprint": host_key_fingerprint(container), **extra}
    return f"[nodes.{name}]\n" + "".join(f'{k} = "{v}"\n' for k, v in fields.items()) + "\n"


def remove_leftovers(names: list[str]) -> None:
    """Remove containers and volumes whose agent label is NAME or NAME-<instance>."""
    client = docker.from_env()

    def ours(labels: dict[str, str] | None) -> bool:
        value = (labels or {}).get("faasctl.node", "")
        return any(value == n or value.startswith(f"{n}-") for n in names)

    try:
        for c in client.containers.list(all=True, filters={"label": "faasctl.node"}):
            if ours(c.labels):
                c.remove(force=True)
        for v in client.volumes.list(filters={"label": "faasctl.node"}):
            if ours(v.attrs.get("Labels")):
                v.remove(force=True)
    finally:
        client.close()
