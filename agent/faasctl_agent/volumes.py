"""Named volumes for code, the runner and dependencies: filled once, trusted only once complete.

A volume is written through the engine, then marked complete by the caller (in the
journal); a fill that fails removes its fill container first and then the volume, so
nothing half-written is left for the next deploy to mistake for a finished one. The
engine's errors become one line with a hint here; "no space left" gets its own words.
"""

from __future__ import annotations

import io
import tarfile
from importlib import resources
from typing import Any

import docker.errors

from . import archive
from .protocol import E_RUNTIME, AgentFailure

LABEL_NODE = "faasctl.node"
DEPS_DIR = "/deps"
# The dependency container's own log (its tail goes into a failed install's error).
DEPS_LOG = {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "1"}}


def disk_full(text: str) -> bool:
    low = text.lower()
    return "no space left on device" in low or "disk quota exceeded" in low or "enospc" in low


def one_line(text: str, limit: int = 300) -> str:
    """The last meaningful line of an engine or tool message, for a one-line error."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[-limit:]


class VolumeOps:
    """Volume work of the Executor (split from it to keep each module small)."""

    api: Any
    node: str

    def volume_exists(self, name: str) -> bool:
        try:
            self.api.inspect_volume(name)
            return True
        except docker.errors.NotFound:
            return False

    def remove_volume(self, name: str) -> None:
        try:
            self.api.remove_volume(name, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            raise AgentFailure(E_RUNTIME, f"could not remove volume {name}: {one_line(exc.explanation)}",
                               "a container still uses it: remove that container and deploy again") from exc

    def refill_volume(self, name: str, image: str, tar: bytes) -> None:
        """Fill `name` from scratch: a volume that was never marked complete is not reused."""
        self.remove_volume(name)
        self.fill_volume(name, image, tar)

    def fill_volume(self, name: str, image: str, tar: bytes) -> None:
        """Create `name` and unpack `tar` into it through a container that never starts."""
        self.api.create_volume(name, labels={LABEL_NODE: self.node})
        failure: AgentFailure | None = None
        try:
            cid = self.api.create_container(
                image, command=["true"], labels={LABEL_NODE: self.node}, network_disabled=True,
                host_config=self.api.create_host_config(binds={name: {"bind": "/fill", "mode": "rw"}},
                                                        log_config={"Type": "none"}),
            )["Id"]
        except docker.errors.APIError as exc:
            self.remove_volume(name)
            raise AgentFailure(E_RUNTIME, f"could not fill volume {name}: {one_line(exc.explanation)}") from exc
        try:
            if not self.api.put_archive(cid, "/fill", tar):
                failure = AgentFailure(E_RUNTIME, f"docker refused to fill volume {name}",
                                       "check the Docker engine's log on the node")
        except docker.errors.APIError as exc:
            failure = _fill_failure(name, str(exc.explanation or exc))
            failure.__cause__ = exc
        finally:
            self.api.remove_container(cid, force=True)  # first: a volume in use cannot be removed
        if failure is not None:
            self.remove_volume(name)
            raise failure

    def runner_source(self) -> tuple[str, bytes]:
        """The runner volume's name (by the digest of the runner's files) and its tar: runner.py
        and the modules beside it (the handler kinds), not the package's __init__."""
        folder = resources.files("faasctl_agent").joinpath("runner")
        files = sorted((f.name, f.read_bytes()) for f in folder.iterdir()
                       if f.name.endswith(".py") and f.name != "__init__.py")
        digest = archive.sha256(b"".join(n.encode() + b"\0" + data + b"\0" for n, data in files))
        entries = [archive.Entry(n, "file", 0o644, data) for n, data in files]
        return f"faasctl-{self.node}-runner-{digest[:16]}", archive.pack(entries, compress=False)

    def install_deps(self, image: str, code_volume: str, path: str, command: str, volume: str) -> None:
        """Run the runtime's dependency command once into `volume` (created unless it exists);
        on failure the volume is removed. Callers remove a stale volume first (reinstall_deps)."""
        self.api.create_volume(volume, labels={LABEL_NODE: self.node})
        env = {"PIP_TARGET": DEPS_DIR, "FAAS_DEPS": DEPS_DIR, "HOME": "/tmp", "PIP_NO_CACHE_DIR": "1",
               "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_BREAK_SYSTEM_PACKAGES": "1", "PIP_ROOT_USER_ACTION": "ignore"}
        cid = self.api.create_container(
            image, command=["sh", "-c", command], user="0:0", working_dir=path, environment=env,
            labels={LABEL_NODE: self.node, "faasctl.role": "deps"},
            host_config=self.api.create_host_config(
                binds={code_volume: {"bind": path, "mode": "ro"}, volume: {"bind": DEPS_DIR, "mode": "rw"}},
                cap_drop=["ALL"], security_opt=["no-new-privileges"], pids_limit=256, mem_limit="1g",
                memswap_limit="1g", log_config=DEPS_LOG),
        )["Id"]
        failure: AgentFailure | None = None
        try:
            self.api.start(cid)
            code = self.api.wait(cid, timeout=900).get("StatusCode", 1)
            if code != 0:
                log = self.api.logs(cid, tail=30).decode(errors="replace").strip()
                if disk_full(log):
                    failure = AgentFailure(E_RUNTIME, f"installing dependencies failed: no space left on node "
                                           f"{self.node}'s Docker storage", "free space in the Docker data root "
                                           "(docker system df), then deploy again")
                else:
                    failure = AgentFailure(E_RUNTIME, f"installing dependencies failed (exit {code})", log)
        except docker.errors.APIError as exc:
            failure = AgentFailure(E_RUNTIME, f"installing dependencies failed: {one_line(exc.explanation)}")
        finally:
            self.api.remove_container(cid, force=True)
        if failure is not None:
            self.remove_volume(volume)
            raise failure

    def reinstall_deps(self, image: str, code_volume: str, path: str, command: str, volume: str) -> None:
        """Install from scratch: never over what a failed or crashed install left behind."""
        self.remove_volume(volume)
        self.install_deps(image, code_volume, path, command, volume)

    def export_volume(self, volume: str, image: str) -> bytes:
        """A volume's files as a tar with paths relative to its root (for stem cells)."""
        cid = self.api.create_container(
            image, command=["true"], labels={LABEL_NODE: self.node}, network_disabled=True,
            host_config=self.api.create_host_config(binds={volume: {"bind": "/export", "mode": "ro"}},
                                                    log_config={"Type": "none"}))["Id"]
        try:
            stream, _ = self.api.get_archive(cid, "/export")
            raw = b"".join(stream)
        finally:
            self.api.remove_container(cid, force=True)
        src = tarfile.open(fileobj=io.BytesIO(raw))  # noqa: SIM115 (in-memory)
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as dst:
            for member in src:
                _, _, rel = member.name.partition("/")
                if not rel:
                    continue
                member.name = rel
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        return out.getvalue()


def _fill_failure(name: str, explanation: str) -> AgentFailure:
    if disk_full(explanation):
        return AgentFailure(E_RUNTIME, f"could not fill volume {name}: no space left on the node's Docker storage",
                            "free space in the Docker data root (docker system df), then deploy again")
    return AgentFailure(E_RUNTIME, f"could not fill volume {name}: {one_line(explanation)}",
                        "the archive could not be unpacked on the node; check its paths and deploy again")
