"""Where runner sockets live on the node, and how they are kept private.

Each container gets a fresh folder `<agent home>/run/c-XXXXXXXX` (random name) holding
one listening socket, `agent.sock`. The folder is bind-mounted read-only at
`/run/faasctl` into that container alone, so no other container can reach the socket
and the function can create nothing there. On the host, the agent's home is 0700, so no
other local user can reach it either; the folder itself is 0711 (the function's uid may
pass through it, not list it) and the socket 0666 (the function's uid must write to
connect). The agent accepts one connection, then removes the socket and its folder:
after that no one can connect, and nothing is left behind.

When the engine cannot see the agent's paths (an agent inside a container that shares
the host's engine, a remote DOCKER_HOST), the bind is refused at create and the agent
stops trying (SocketUnseen, `Sockets.disable`); where the bind works but the runner
finds no socket, the runner says ready on stdout and the attach stream is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path

log = logging.getLogger("faasctl_agent")

SOCKET_DIR = "/run/faasctl"  # inside the container
SOCKET_NAME = "agent.sock"


class SocketUnseen(Exception):
    """The engine refused the socket folder's bind mount: it does not see the agent's paths."""


class Listener:
    """One container's socket, listening until its runner connects."""

    def __init__(self, root: Path) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="c-", dir=root))
        os.chmod(self.folder, 0o711)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        try:  # through the folder's descriptor: a deep home would pass the 108-byte path limit
            self.sock.bind(f"/proc/self/fd/{fd}/{SOCKET_NAME}")
            os.chmod(f"/proc/self/fd/{fd}/{SOCKET_NAME}", 0o666)
        except OSError:
            self.close()
            raise
        finally:
            os.close(fd)
        self.sock.listen(1)
        self.sock.setblocking(False)

    async def accept(self) -> socket.socket:
        conn, _ = await asyncio.get_running_loop().sock_accept(self.sock)
        return conn

    def close(self) -> None:
        """Stop listening and remove the socket and its folder (the container keeps its
        connection; the mount now shows an empty, deleted folder)."""
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class Sockets:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.enabled = True

    def sweep(self) -> None:
        """Folders left by an earlier run of this agent (its containers are gone too)."""
        shutil.rmtree(self.root, ignore_errors=True)
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            self.disable(f"cannot make {self.root}: {exc}")

    def listen(self) -> Listener | None:
        """A new container's listener, or None to use attach alone."""
        if not self.enabled:
            return None
        try:
            return Listener(self.root)
        except OSError as exc:
            self.disable(f"cannot listen in {self.root}: {exc}")
            return None

    def disable(self, why: str) -> None:
        if self.enabled:
            log.info("runner sockets off, warm calls go over the attach stream: %s", why)
        self.enabled = False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)
