"""The operator's side of the agent channel: a ZeroMQ DEALER speaking CURVE.

One socket per node per process, reused across requests. Replies are matched by id, so
a late answer to a request that timed out is dropped instead of read as the next one.
An agent that does not know our key never completes the handshake, which we see as
silence: that is reported as "unreachable", with a hint to check the node.
"""

from __future__ import annotations

import os
from typing import Any

import zmq
from faasctl_agent import protocol

from .errors import AGENT_CODES, AgentError, FaasctlError, NodeUnreachable, NotDelivered

_ctx: zmq.Context[zmq.Socket[bytes]] | None = None


def _context() -> zmq.Context[zmq.Socket[bytes]]:
    global _ctx
    if _ctx is None:
        _ctx = zmq.Context.instance()
    return _ctx


class AgentClient:
    def __init__(self, node: str, endpoint: str, server_key: str, public: str, secret: str) -> None:
        self.node = node
        self.endpoint = endpoint
        self._keys = (server_key.encode(), public.encode(), secret.encode())
        self._sock: zmq.Socket[bytes] | None = None
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
            sock.connect(self.endpoint)
            self._sock = sock
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
        frame = protocol.request(req_id, op, args)
        try:
            sock.send(frame, flags=zmq.NOBLOCK)
        except zmq.Again:
            if not sock.poll(int(min(timeout, connect_timeout) * 1000), zmq.POLLOUT):
                self.close()
                raise NotDelivered(f"node {self.node} did not complete a handshake ({self.endpoint})",
                                   f"check it with `faasctl node status {self.node}`") from None
            sock.send(frame)
        deadline_ms = int(timeout * 1000)
        while True:
            if not sock.poll(deadline_ms, zmq.POLLIN):
                self.close()
                raise self._silent(timeout)
            try:
                msg = protocol.decode(sock.recv())
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
        raise kind(f"node {self.node}: {err.get('message', 'request failed')}", err.get("hint", ""))

    def _silent(self, timeout: float) -> NodeUnreachable:
        return NodeUnreachable(f"node {self.node} did not answer within {timeout:g} s ({self.endpoint})",
                               f"check it with `faasctl node status {self.node}`")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
