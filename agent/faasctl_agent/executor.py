"""Everything the agent asks of the Docker engine, through the SDK (blocking calls).

The service calls these from worker threads. Docker errors are turned into
AgentFailure here, at the boundary, so nothing above knows the SDK's exception types.
Code and dependencies reach containers as named volumes filled through the API, never
as bind mounts of the agent's own paths: that works the same whether the agent runs on
the host or inside a container that shares the host's engine.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import signal
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import docker.types
import requests.exceptions

from .diskusage import DiskOps
from .fnconfig import SECRETS_DIR
from .languages import LANGUAGES, RUNNER_DIR
from .protocol import E_NOT_FOUND, E_RUNTIME, AgentFailure
from .sockdirs import SOCKET_DIR, SOCKET_NAME, SocketUnseen
from .volumes import DEPS_DIR, LABEL_NODE, VolumeOps

LABEL_FUNCTION = "faasctl.function"
FUNCTION_USER = "65534:65534"
# Where a function's secrets are written by its runner (as root, before it drops to the
# function's user): root-owned, in the function's group, readable by nobody else. Sized
# for fnconfig.SECRETS_MAX values of SECRET_MAX_BYTES; noexec, never on disk.
SECRETS_TMPFS = f"rw,nosuid,nodev,noexec,size=2m,mode=0750,uid=0,gid={FUNCTION_USER.partition(':')[2]}"
# No engine-side log for function containers: the runner captures what a function prints
# (bounded), and a json-file log would grow without bound on the host's disk.
FUNCTION_LOG = {"Type": "none"}
__all__ = ["DEPS_DIR", "FUNCTION_LOG", "FUNCTION_USER", "LABEL_FUNCTION", "LABEL_NODE", "RUNNER_DIR",
           "ContainerSpec", "Executor"]


@dataclass
class ContainerSpec:
    image: str
    path: str
    code_volume: str | None  # None: a stem cell, with empty writable-by-root volumes to fill later
    runner_volume: str
    deps_volume: str | None = None
    memory_mb: int = 256
    cpus: float = 1.0
    pids: int = 128
    network: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    socket_dir: str | None = None  # the agent's folder for this container's runner socket
    secrets: bool = False  # start as root, with a secrets tmpfs, so the runner can place them (issue 13)
    command: tuple[str, ...] = LANGUAGES["python"].command  # the runtime's runner (languages.py)


class Executor(VolumeOps, DiskOps):
    def __init__(self, node: str) -> None:
        self.node = node  # the agent's unique scope (AgentConfig.scope), not just its name
        try:
            self.client = docker.from_env(timeout=300, max_pool_size=64)
            self.client.ping()
        except docker.errors.DockerException as exc:
            raise AgentFailure(E_RUNTIME, f"cannot reach the Docker engine: {exc}",
                               "start dockerd and check that this user may use /var/run/docker.sock") from exc
        self.api = self.client.api

    # images -----------------------------------------------------------------
    def image_id(self, ref: str) -> str | None:
        try:
            return str(self.api.inspect_image(ref)["Id"])
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            raise AgentFailure(E_RUNTIME, f"docker could not inspect {ref}: {exc.explanation}") from exc

    def ensure_image(self, ref: str) -> str:
        """The image's id, pulling it once if a registry answers."""
        found = self.image_id(ref)
        if found:
            return found
        try:
            self.client.images.pull(ref)
        except docker.errors.APIError as exc:
            raise AgentFailure(E_NOT_FOUND, f"image {ref} is not on node {self.node} and cannot be pulled",
                               f"load or build it on the node first (docker load / build): {exc.explanation}",
                               ) from exc
        return self.image_id(ref) or ref

    def build(self, context_tar_gz: bytes, tag: str, base: str, offline_base: str) -> str:
        """Build a runtime image; fall back to the offline base when no registry answers."""
        if self.image_id(tag):
            return tag
        chosen = base
        if base and not self.image_id(base):
            try:
                self.client.images.pull(base)
            except docker.errors.APIError:
                if offline_base and self.image_id(offline_base):
                    chosen = offline_base
                else:
                    raise AgentFailure(E_RUNTIME, f"base image {base} cannot be pulled and offline base "
                                       f"{offline_base or '(none)'} is not on node {self.node}",
                                       "run scripts/setup.sh on the node, or pass --base with a local image") from None
        try:
            self.client.images.build(fileobj=io.BytesIO(context_tar_gz), custom_context=True, encoding="gzip",
                                     tag=tag, buildargs={"BASE": chosen} if chosen else {}, rm=True,
                                     labels={LABEL_NODE: self.node})
        except docker.errors.BuildError as exc:
            log = "".join(str(x.get("stream", x.get("error", ""))) for x in exc.build_log)[-1500:]
            raise AgentFailure(E_RUNTIME, f"building {tag} failed: {exc.msg}", log.strip()) from exc
        except docker.errors.APIError as exc:
            raise AgentFailure(E_RUNTIME, f"building {tag} failed: {exc.explanation}") from exc
        return tag

    # function containers ------------------------------------------------------
    def create(self, spec: ContainerSpec) -> str:
        binds = {spec.runner_volume: {"bind": RUNNER_DIR, "mode": "ro"}}
        if spec.code_volume:
            binds[spec.code_volume] = {"bind": spec.path, "mode": "ro"}
        if spec.deps_volume:
            binds[spec.deps_volume] = {"bind": DEPS_DIR, "mode": "ro"}
        mem = f"{spec.memory_mb}m"
        stem = spec.code_volume is None
        env = {"PYTHONPATH": DEPS_DIR, "NODE_PATH": f"{DEPS_DIR}/node_modules", "HOME": "/tmp",
               "PYTHONDONTWRITEBYTECODE": "1"}
        mounts = None
        if spec.socket_dir:
            # Mounts, not Binds: the engine refuses a source it cannot see instead of
            # making an empty folder for it, which is how the agent learns to use attach.
            mounts = [docker.types.Mount(SOCKET_DIR, spec.socket_dir, type="bind", read_only=True)]
            env["FAASCTL_SOCKET"] = f"{SOCKET_DIR}/{SOCKET_NAME}"
        root = stem or spec.secrets
        tmpfs = {"/tmp": "rw,nosuid,nodev,size=64m"}
        if root:
            tmpfs[SECRETS_DIR] = SECRETS_TMPFS
        host_config = self.api.create_host_config(
            # A stem cell's runner starts as root only to unpack code it is sent (and any
            # runner to place secrets), then drops to FUNCTION_USER for good; these two
            # capabilities are all it needs for that.
            cap_add=["SETUID", "SETGID"] if root else None,
            binds=binds, cap_drop=["ALL"], security_opt=["no-new-privileges"], pids_limit=spec.pids,
            mem_limit=mem, memswap_limit=mem, nano_cpus=int(spec.cpus * 1e9), read_only=True,
            tmpfs=tmpfs,
            network_mode="bridge" if spec.network else "none", log_config=FUNCTION_LOG, mounts=mounts,
        )
        labels = {LABEL_NODE: self.node, **spec.labels}
        try:
            return str(self.api.create_container(
                spec.image, command=list(spec.command),
                user="0:0" if root else FUNCTION_USER,
                working_dir=spec.path, stdin_open=True, tty=False, labels=labels,
                volumes=None if spec.code_volume else [spec.path, DEPS_DIR],
                environment=env,
                name=f"faasctl-{self.node}-{spec.labels.get(LABEL_FUNCTION, 'fn')}-{secrets.token_hex(3)}",
                host_config=host_config,
            )["Id"])
        except docker.errors.APIError as exc:
            if spec.socket_dir:
                raise SocketUnseen(str(exc.explanation)) from exc
            raise AgentFailure(E_RUNTIME, f"could not create a container of {spec.image}: {exc.explanation}") from exc

    def start(self, cid: str) -> None:
        try:
            self.api.start(cid)
        except docker.errors.APIError as exc:
            self.remove(cid)
            raise AgentFailure(E_RUNTIME, f"could not start container: {exc.explanation}") from exc

    def update_limits(self, cid: str, memory_mb: int, cpus: float, pids: int) -> None:
        """Give a stem cell a function's own limits (only when they differ from the node's)."""
        mem = memory_mb * 1024 * 1024
        res = self.api._post_json(self.api._url("/containers/{0}/update", cid),
                                  data={"Memory": mem, "MemorySwap": mem, "NanoCpus": int(cpus * 1e9),
                                        "PidsLimit": pids})
        self.api._raise_for_status(res)

    def runner_volume(self, image: str) -> str:
        """The runner's volume, filled if missing (tests and tools; the service journals it)."""
        name, tar = self.runner_source()
        if not self.volume_exists(name):
            self.fill_volume(name, image, tar)
        return name

    def stop_cause(self, cid: str, memory_mb: int) -> str:
        """Why a function's container stopped, in words; "" when the engine cannot tell."""
        try:
            self.api.wait(cid, timeout=5)
            state = self.api.inspect_container(cid)["State"]
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return ""
        if state.get("Running"):
            return ""
        if state.get("OOMKilled"):
            return (f"out of memory: the function passed its memory limit of {memory_mb} MiB and was killed "
                    "(raise it with --memory)")
        code = int(state.get("ExitCode") or 0)
        if code > 128:
            try:
                return f"the function's container was killed by {signal.Signals(code - 128).name} (exit {code})"
            except ValueError:
                pass
        return f"the function's container exited with status {code}"

    def remove(self, cid: str) -> None:
        try:
            self.api.remove_container(cid, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # removal already in progress
                raise

    def ours(self, **labels: str) -> list[dict[str, Any]]:
        filters = [f"{LABEL_NODE}={self.node}"] + [f"{k}={v}" for k, v in labels.items()]
        return list(self.api.containers(all=True, filters={"label": filters}))

    def remove_all(self) -> int:
        found = self.ours()
        for c in found:
            self.remove(c["Id"])
        return len(found)

    def remove_volumes(self) -> None:
        for vol in self.api.volumes(filters={"label": f"{LABEL_NODE}={self.node}"}).get("Volumes") or []:
            with contextlib.suppress(docker.errors.APIError):
                self.api.remove_volume(vol["Name"], force=True)

