"""An asyncio pipe to a runner's stdin and stdout through Docker's attach stream.

Warm calls cross this pipe and nothing else, so it is written against the engine's HTTP
upgrade directly rather than through the blocking SDK: no thread hop, no copy beyond
the frame demultiplexing. The runner answers one call at a time, so one pending future
is all the bookkeeping a channel needs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import deque
from collections.abc import Callable
from typing import Any, Optional, Protocol
from urllib.parse import urlparse

from .framing import LineTooLong, ReplyFramer

log = logging.getLogger("faasctl_agent")


class RunnerGone(Exception):
    """The container's process ended (or the stream broke) while a reply was awaited."""

    over_limit = False  # the reply passed the framing limit (the container is not at fault)


def docker_address() -> tuple[str, str | int]:
    """("unix", path) or ("tcp", "host:port") from DOCKER_HOST, as the SDK reads it."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    url = urlparse(host)
    if url.scheme == "unix":
        return "unix", url.path
    if url.scheme == "tcp" and not os.environ.get("DOCKER_TLS_VERIFY"):
        return "tcp", url.netloc
    raise RuntimeError(f"DOCKER_HOST={host} is not supported for attach (unix or plain tcp only)")


# Evaluated at import, and nodes run the agent on Python 3.9 (no `X | None` outside annotations).
Done = Callable[[Optional[dict[str, Any]], Optional[BaseException]], None]  # noqa: UP045


class Channel(Protocol):
    """What the pool and the call runner use of a runner's pipe (attach or socket)."""

    kind: str
    closed: bool
    ready: asyncio.Future[dict[str, Any]]

    async def request(self, msg: dict[str, Any], timeout: float | None) -> dict[str, Any]: ...

    def submit(self, msg: dict[str, Any], timeout: float | None, done: Done) -> None: ...

    def stderr_tail(self) -> str: ...

    def close(self) -> None: ...


class RunnerChannel:
    STDERR_TAIL = 8192
    kind = "attach"

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending: asyncio.Future[dict[str, Any]] | None = None
        self._stderr: deque[bytes] = deque()
        self._stderr_size = 0
        self.closed = False
        self._on_close: list[Callable[[], None]] = []
        self._task = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def attach(cls, container_id: str) -> RunnerChannel:
        kind, where = docker_address()
        if kind == "unix":
            reader, writer = await asyncio.open_unix_connection(str(where))
        else:
            host, _, port = str(where).rpartition(":")
            reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            (
                f"POST /containers/{container_id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                "Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
            ).encode()
        )
        status = await reader.readline()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        if b" 101 " not in status and b" 200 " not in status:
            writer.close()
            raise RunnerGone(f"docker refused to attach: {status.decode(errors='replace').strip()}")
        return cls(reader, writer)

    async def _read_loop(self) -> None:
        framer = ReplyFramer()
        reason = ""
        try:
            while True:
                header = await self._reader.readexactly(8)
                size = int.from_bytes(header[4:8], "big")
                payload = await self._reader.readexactly(size)
                if header[0] != 1:
                    self._keep_stderr(payload)
                    continue
                for msg in framer.feed(payload):
                    self._deliver(msg)
        except LineTooLong as exc:
            reason = f"the function's reply was over the limit of {framer.limit} bytes ({exc})"
            self._writer.close()  # the caller removes the container; stop reading it now
        except ValueError as exc:  # not JSON (nor UTF-8): a runner this agent did not ship, or a broken one
            log.warning("a function's runner sent a line that is not JSON, so it counts as gone: %s", exc)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the container stopped: said below, with its stderr
        finally:
            self.closed = True
            gone = RunnerGone(reason or self.stderr_tail() or "the function's container stopped")
            gone.over_limit = bool(reason)
            for fut in (self.ready, self._pending):
                if fut is not None and not fut.done():
                    fut.set_exception(gone)
            for callback in self._on_close:
                callback()

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the stream has ended (its stderr is all in by then)."""
        if self.closed:
            asyncio.get_running_loop().call_soon(callback)
        else:
            self._on_close.append(callback)

    def _deliver(self, msg: dict[str, Any]) -> None:
        if msg.get("op") == "ready":
            if not self.ready.done():
                self.ready.set_result(msg)
        elif self._pending is not None and not self._pending.done():
            self._pending.set_result(msg)

    def _keep_stderr(self, data: bytes) -> None:
        self._stderr.append(data)
        self._stderr_size += len(data)
        while self._stderr_size > self.STDERR_TAIL and len(self._stderr) > 1:
            self._stderr_size -= len(self._stderr.popleft())

    def stderr_tail(self) -> str:
        return b"".join(self._stderr)[-self.STDERR_TAIL:].decode(errors="replace").strip()

    async def request(self, msg: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        if self.closed:
            raise RunnerGone(self.stderr_tail() or "the function's container stopped")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending = fut
        self._writer.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        if timeout is None:
            return await fut
        # A timer on the future itself: wait_for would add a task per call on the hot path.
        timer = loop.call_later(timeout, _expire, fut)
        try:
            return await fut
        finally:
            timer.cancel()

    def submit(self, msg: dict[str, Any], timeout: float | None, done: Done) -> None:
        """`request` for callers that take a callback (see SocketChannel.submit)."""
        fut = asyncio.ensure_future(self.request(msg, timeout))

        def settle(f: asyncio.Future[dict[str, Any]]) -> None:
            err = RunnerGone("the call was cancelled") if f.cancelled() else f.exception()
            done(None if err else f.result(), err)

        fut.add_done_callback(settle)

    def close(self) -> None:
        self._task.cancel()
        self._writer.close()


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(asyncio.TimeoutError())
