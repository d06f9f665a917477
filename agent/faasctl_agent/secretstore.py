"""Secret values on the node: one 0600 file per name under the agent's private home.

A value arrives only in a `secret_put` request over the CURVE channel and leaves only in
a runner's init message over the container's attach stream (read at each container
start, so a new value reaches every container started after it). It is never written to
the journal, a label, a log or a container's environment: `docker inspect` and the
journal show secret names at most.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from .fnconfig import ConfigError, check_secret_name, check_secret_value
from .protocol import E_BAD_REQUEST, E_NOT_FOUND, AgentFailure


class SecretStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, name: str) -> Path:
        try:
            return self.folder / check_secret_name(name)
        except ConfigError as exc:
            raise AgentFailure(E_BAD_REQUEST, exc.message, exc.hint) from exc

    def put(self, name: str, value: bytes) -> None:
        """Write atomically: a temporary 0600 file, fsynced, renamed over the old value."""
        path = self._path(name)
        try:
            check_secret_value(name, value)
        except ConfigError as exc:
            raise AgentFailure(E_BAD_REQUEST, exc.message, exc.hint) from exc
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        tmp = self.folder / f".{name}.{os.urandom(4).hex()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(value)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def has(self, name: str) -> bool:
        return self._path(name).is_file()

    def remove(self, name: str) -> bool:
        path = self._path(name)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        return existed

    def values(self, names: list[str], node: str) -> dict[str, str]:
        """The values (base64) for a runner's init message; a missing one is named."""
        found = {}
        for name in names:
            try:
                found[name] = base64.b64encode(self._path(name).read_bytes()).decode()
            except FileNotFoundError:
                raise AgentFailure(E_NOT_FOUND, f"secret {name} is not on node {node}",
                                   f"set it again (faasctl secret set {name}) or redeploy the function") from None
        return found
