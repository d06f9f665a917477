"""A local TCP port forwarded to an address on the node, over the node's SSH session.

For nodes whose agent port cannot be reached (firewalls, NAT, no open port at all): the
agent binds the node's loopback only, and the operator's ZeroMQ socket connects to a
port on this machine that paramiko carries to it (`direct-tcpip`). The SSH session is
the one the connector already verified, host key included, and CURVE still runs end
to end inside the tunnel.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any


class Forwarder:
    """Listens on 127.0.0.1:<ephemeral>; each connection becomes one SSH channel."""

    def __init__(self, transport: Any, remote_host: str, remote_port: int) -> None:
        self.transport = transport
        self.remote = (remote_host, remote_port)
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name=f"tunnel-{remote_port}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, peer = self._listener.accept()
            except OSError:
                return  # listener closed
            try:
                chan = self.transport.open_channel("direct-tcpip", self.remote, peer, timeout=10)
            except Exception:  # noqa: BLE001  (the node refused: the client sees a closed connection)
                conn.close()
                continue
            for src, dst in ((conn, chan), (chan, conn)):
                threading.Thread(target=_pump, args=(src, dst), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
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
                end.close()
