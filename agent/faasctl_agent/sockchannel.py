"""The runner's pipe over a Unix socket: a warm call that never passes through dockerd.

Over attach, each call line and each reply crosses dockerd's relay (and the shim's),
which measured 0.15 ms of a 0.11 ms raw round trip's budget and half a core under load.
Here the agent listens on a socket in a folder of its own, bind-mounted read-only into
that one container; the runner connects to it at start and speaks the same JSON lines.
The attach stream stays open beside it: it carries the runner's stderr (the tail a dead
container's error quotes) and is the whole channel when the socket cannot be used.

The channel is an asyncio Protocol driven by callbacks: a reply line is handed to the
waiting call's callback from `data_received`, with no reader task and no future, so the
server can run a warm call without a task of its own (`Service.warm_invoke`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from .channel import Done, RunnerChannel, RunnerGone
from .framing import MAX_LINE, LineTooLong, ReplyFramer

log = logging.getLogger("faasctl_agent")

# After the socket ends, how long to wait for the attach stream to deliver the runner's
# last stderr (the two are separate pipes and dockerd relays its one later).
STDERR_GRACE = 2.0


class SocketChannel(asyncio.Protocol):
    kind = "socket"

    def __init__(self, attach: RunnerChannel, limit: int = MAX_LINE) -> None:
        self.attach = attach  # stderr, and the container's end
        self._framer = ReplyFramer(limit)
        self._transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._done: Done | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._reason = ""
        self.closed = False

    @classmethod
    async def accept(cls, conn: Any, attach: RunnerChannel, limit: int = MAX_LINE) -> SocketChannel:
        """Wrap the runner's accepted connection (a socket.socket)."""
        loop = asyncio.get_running_loop()
        _, channel = await loop.connect_accepted_socket(lambda: cls(attach, limit), sock=conn)
        return channel

    # asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._framer.feed(data)
        except LineTooLong as exc:
            self._reason = f"the function's reply was over the limit of {self._framer.limit} bytes ({exc})"
            self._abort()
            return
        except ValueError as exc:
            log.warning("a function's runner sent a line that is not JSON, so it counts as gone: %s", exc)
            self._abort()
            return
        for msg in messages:
            if msg.get("op") == "ready":
                if not self.ready.done():
                    self.ready.set_result(msg)
            else:
                self._settle(msg, None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._reason or self.attach.closed:
            self._fail()
        else:  # the runner ended: let the attach stream bring its stderr first
            loop = asyncio.get_running_loop()
            loop.call_later(STDERR_GRACE, self._fail)
            self.attach.on_close(self._fail)

    # calls ----------------------------------------------------------------------------
    def submit(self, msg: dict[str, Any], timeout: float | None, done: Done) -> None:
        """Send one message; `done(reply, None)` or `done(None, error)` is called once,
        from the loop, never from inside this call."""
        if self.closed or self._transport is None:
            err = self._gone()
            asyncio.get_running_loop().call_soon(done, None, err)
            return
        self._done = done
        self._transport.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        if timeout is not None:
            self._timer = asyncio.get_running_loop().call_later(timeout, self._settle, None, asyncio.TimeoutError())

    async def request(self, msg: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def done(reply: dict[str, Any] | None, err: BaseException | None) -> None:
            if fut.done():
                return
            if err is not None:
                fut.set_exception(err)
            else:
                assert reply is not None
                fut.set_result(reply)

        self.submit(msg, timeout, done)
        return await fut

    def _settle(self, reply: dict[str, Any] | None, err: BaseException | None) -> None:
        done, self._done = self._done, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if done is not None:
            done(reply, err)

    def _gone(self) -> RunnerGone:
        gone = RunnerGone(self._reason or self.attach.stderr_tail() or "the function's container stopped")
        gone.over_limit = bool(self._reason)
        return gone

    def _fail(self) -> None:
        if not self.ready.done():
            self.ready.set_exception(self._gone())
            self.ready.exception()  # awaited by the start, if at all: no "never retrieved" noise
        if self._done is not None:
            self._settle(None, self._gone())

    def _abort(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.abort()  # the caller removes the container; stop reading it now

    def stderr_tail(self) -> str:
        return self.attach.stderr_tail()

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()
        self.attach.close()
