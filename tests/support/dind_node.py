"""A node with a Docker engine of its own (faasctl/node-dind:test, scripts/node-image-dind.sh).

Unlike the other node containers it does not get the host's Docker socket: its engine
starts empty and no registry answers, so it can neither pull nor build a runtime image.
Everything it holds (images, volumes, containers) goes with the container and its
anonymous /var/lib/docker volume when the test stops it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, cast

import docker
import pytest

from tests.support.sshd import wait_for_ssh_banner

IMAGE = "faasctl/node-dind:test"
# What a nested engine needs here (cgroup v1 host, no privileged flag).
RUN_OPTIONS: dict[str, Any] = {"cap_add": ["ALL"], "cap_drop": ["SYS_RESOURCE"],
                               "security_opt": ["seccomp=unconfined"], "cgroupns": "host"}
START_TIMEOUT = 90  # dockerd first (the entrypoint waits up to 60 s for it), then sshd


@contextlib.contextmanager
def dind_node(public_key: str) -> Iterator[Any]:
    client = docker.from_env()
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {IMAGE} is missing; run scripts/setup.sh (it builds the node images)")
    from testcontainers.core.container import DockerContainer

    c = (DockerContainer(IMAGE).with_env("AUTHORIZED_KEY", public_key)
         .with_volume_mapping("/sys/fs/cgroup", "/sys/fs/cgroup", "rw").with_kwargs(**RUN_OPTIONS))
    c.ports["22/tcp"] = cast("int | None", ("127.0.0.1",))
    c.ports["7701/tcp"] = cast("int | None", ("127.0.0.1",))
    try:
        c.start()
        try:
            wait_for_ssh_banner("127.0.0.1", int(c.get_exposed_port(22)), START_TIMEOUT)
        except Exception:
            logs = c.get_wrapped_container().logs(tail=30).decode(errors="replace")
            raise AssertionError(f"the docker-in-docker node did not come up:\n{logs}") from None
        yield c
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            c.stop()  # the container and its /var/lib/docker volume
        client.close()


def engine_has(container: Any, image: str) -> str:
    """The image's ID in the node's own engine, '' if absent (read out of band, docker exec)."""
    res = container.exec(["docker", "image", "inspect", "--format", "{{.Id}}", image])
    return str(res.output.decode().strip()) if res.exit_code == 0 else ""
