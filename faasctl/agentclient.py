"""The operator's side of the agent channel: a ZeroMQ DEALER speaking CURVE.

One socket per node per process, reused across requests. Replies are matched by id, so
a late answer to a request that timed out is dropped instead of read as the next one.
An agent that does not know our key never completes the handshake, which we see as
silence, or, where the monitor sees the agent's refusal, as NotAuthorised (as is a
request refused later because the key was removed), with the command that authorises it.

Until a socket's first handshake, a ZeroMQ socket monitor watches the connection, so a
refused or dropped connect (a dead agent) fails in milliseconds instead of after the
connect timeout; only a node that accepts and never answers (hung) costs the timeout.
"""

from __future__ import annotations

import os
import time
from typing import Any

import zmq
from faasctl_agent import protocol

from .errors import AGENT_CODES, AgentError, FaasctlError, NodeUnreachable, NotAuthorised, NotDelivered

_ctx: zmq.Context[zmq.Socket[bytes]] | None = None
# Monitor events meaning "this connect attempt failed": no need to wait any longer.
_FAILED: dict[int, str] = {
    int(zmq.EVENT_CONNECT_RETRIED): "refused the connection", int(zmq.EVENT_DISCONNECTED): "dropped the connection",
    int(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL): "failed the handshake",
    int(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL): "failed the handshake (protocol)",
    int(zmq.EVENT_HANDSHAKE_FAILED_AUTH): "refused our key"}
_WATCH = int(zmq.EVENT_HANDSHAKE_SUCCEEDED)
for _event in _FAILED:
    _WATCH |= _event


def _context() -> zmq.Context[zmq.Socket[bytes]]:
    global _ctx
    if _ctx is None:
        _ctx = zmq.Context.instance()
    return _ctx


class AgentClient:
    def __init__(self, node: str, endpoint: str, server_key: str, public: str, secret: str,
                 operator: str = "NAME") -> None:
        self.node = node
        self.operator = operator  # this operator's name, for the hint of a refusal
        self.endpoint = endpoint
        self._keys = (server_key.encode(), public.encode(), secret.encode())
        self._sock: zmq.Socket[bytes] | None = None
        self._monitor: zmq.Socket[bytes] | None = None
        self._ready = False  # a message went out on this socket: it had a connection
        self._seq = 0
        self._prefix = os.urandom(4).hex()

    @classmethod
    def for_node(cls, node: dict[str, Any], identity: dict[str, Any]) -> AgentClient:
        return cls(node["name"], node["zmq_endpoint"], node["server_key"], identity["public"], identity["secret"])

    def _socket(self) -> zmq.Socket[bytes]:
        if self._sock is None:
            sock = _context().socket(zmq.DEALER)
            server, public, secret = self._keys
            sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = server, public, secret
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.IMMEDIATE, 1)
            self._monitor = sock.get_monitor_socket(_WATCH)
            sock.connect(self.endpoint)
            self._sock, self._ready = sock, False
        return self._sock

    def request(self, op: str, args: dict[str, Any] | None = None, timeout: float = 10.0,
                connect_timeout: float = 5.0) -> dict[str, Any]:
        """Send one request and wait for its reply.

        With ZMQ_IMMEDIATE a message is queued only on a connection whose CURVE handshake
        has completed, so failing to send within `connect_timeout` raises NotDelivered:
        the agent cannot have seen the request. Silence after sending is NodeUnreachable.
        """
        self._seq += 1
        req_id = f"{self._prefix}-{self._seq}"
        sock = self._socket()
        if op in protocol.RESULT_FRAME_OPS:  # a large result may come as a raw frame (an older agent ignores the flag)
            args = {**(args or {}), protocol.RESULT_FRAME: True}
        frame = protocol.request(req_id, op, args)
        try:
            sock.send(frame, flags=zmq.NOBLOCK)
        except zmq.Again:
            if self._ready:  # it had a connection and lost it: watch a fresh connect
                self.close()
                sock = self._socket()
            self._await_handshake(sock, min(timeout, connect_timeout))
            sock.send(frame)
        self._ready = True
        deadline_ms = int(timeout * 1000)
        while True:
            if not sock.poll(deadline_ms, zmq.POLLIN):
                self.close()
                raise self._silent(timeout)
            try:
                frame = sock.recv()
                extra = []  # a raw result frame (protocol.split_result), read without a copy
                while sock.getsockopt(zmq.RCVMORE):
                    extra.append(sock.recv(copy=False))
                msg = protocol.join_result(protocol.decode(frame), extra)
            except protocol.ProtocolError as exc:
                raise AgentError(f"node {self.node} sent a message we cannot read: {exc}",
                                 "upgrade the agent: faasctl node upgrade") from exc
            if msg["id"] == req_id:
                break
        if msg.get("ok"):
            data: dict[str, Any] = msg.get("data") or {}
            return data
        err = msg.get("error") or {}
        kind: type[FaasctlError] = AGENT_CODES.get(err.get("code", ""), AgentError)
        if kind is NotAuthorised:
            raise self._refused()
        raise kind(f"node {self.node}: {err.get('message', 'request failed')}", err.get("hint", ""))

    def _await_handshake(self, sock: zmq.Socket[bytes], seconds: float) -> None:
        """Return once `sock` can send; NotDelivered as soon as the monitor sees the connect fail."""
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLOUT)
        monitor = self._monitor
        if monitor is not None:
            poller.register(monitor, zmq.POLLIN)
        deadline = time.monotonic() + seconds
        for _ in range(10_000):  # bounded: each turn consumes one event or the time left
            left = deadline - time.monotonic()
            ready = dict(poller.poll(max(0, int(left * 1000)))) if left > 0 else {}
            if sock in ready:
                return
            if monitor is not None and monitor in ready:
                from zmq.utils.monitor import recv_monitor_message

                event = int(recv_monitor_message(monitor)["event"])
                failed = _FAILED.get(event)
                if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                    self.close()
                    raise self._refused()
                if failed:
                    self.close()
                    raise NotDelivered(f"node {self.node} {failed} ({self.endpoint})",
                                       f"check it with `faasctl node status {self.node}`")
                continue
            break
        self.close()
        raise NotDelivered(f"node {self.node} did not complete a handshake within {seconds:g} s ({self.endpoint})",
                           f"check it with `faasctl node status {self.node}`")

    def _refused(self) -> NotAuthorised:
        return NotAuthorised(f"this operator's key is not authorised on node {self.node}",
                             f"ask an operator to run: faasctl operator add {self.operator} "
                             f"--public-key '{self._keys[1].decode()}'")  # z85 has no quote

    def _silent(self, timeout: float) -> NodeUnreachable:
        return NodeUnreachable(f"node {self.node} did not answer within {timeout:g} s ({self.endpoint})",
                               f"check it with `faasctl node status {self.node}`")

    def close(self) -> None:
        if self._monitor is not None:
            if self._sock is not None:
                self._sock.disable_monitor()
            self._monitor.close(linger=0)
            self._monitor = None
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
