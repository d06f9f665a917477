"""A local TCP port forwarded to an address on the node, over the node's SSH session.

For nodes whose agent port cannot be reached (firewalls, NAT, no open port at all): the
agent binds the node's loopback only, and the operator's ZeroMQ socket connects to a
port on this machine that paramiko carries to it (`direct-tcpip`). The SSH session is
the one the connector already verified, host key included, and CURVE still runs end
to end inside the tunnel.

Not fabric's forward_local (fabric 3.2): it needs a fixed local port chosen in advance
(a race with other processes; this listener binds port 0 and reports what it got), it
polls accept() every 10 ms for as long as the tunnel lives, and one refused channel ends
its listener thread, so every later connection hangs. This one runs on the fabric
Connection's transport, logs a refused channel and keeps listening.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)


class Forwarder:
    """Listens on 127.0.0.1:<ephemeral>; each connection becomes one SSH channel."""

    def __init__(self, transport: Any, remote_host: str, remote_port: int, node: str = "") -> None:
        self.transport = transport
        self.node = node
        self.remote = (remote_host, remote_port)
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._open: list[tuple[socket.socket, Any]] = []  # live connections, ended by close()
        self._thread = threading.Thread(target=self._accept, name=f"tunnel-{remote_port}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, peer = self._listener.accept()
            except OSError:
                return  # listener closed
            try:
                chan = self.transport.open_channel("direct-tcpip", self.remote, peer, timeout=10)
            except Exception as exc:  # noqa: BLE001  (the node refused: the client sees a closed connection)
                log.warning("tunnel to node %s: channel to %s:%d refused (%s)", self.node or "?",
                            *self.remote, exc or type(exc).__name__)
                conn.close()
                continue
            self._open = [(c, ch) for c, ch in self._open if c.fileno() != -1] + [(conn, chan)]
            for src, dst in ((conn, chan), (chan, conn)):
                threading.Thread(target=_pump, args=(src, dst), daemon=True).start()

    def close(self) -> None:
        """Stop listening and end every connection (shutdown wakes threads blocked in accept/recv)."""
        self._closed.set()
        for conn, chan in [(self._listener, None), *self._open]:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            if chan is not None:
                chan.close()
        self._open.clear()
        self._thread.join(5)
        with contextlib.suppress(OSError):
            self._listener.close()


def _pump(src: Any, dst: Any) -> None:
    """Copy one direction until either side closes, then close both."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except (OSError, EOFError):
        pass
    finally:
        for end in (src, dst):
            with contextlib.suppress(Exception):
                if isinstance(end, socket.socket):
                    end.shutdown(socket.SHUT_RDWR)  # wakes the other direction's recv
            with contextlib.suppress(Exception):
                end.close()
