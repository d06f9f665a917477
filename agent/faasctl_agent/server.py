"""The agent daemon's sockets: a CURVE-authenticated ZeroMQ ROUTER and a tiny HTTP
endpoint for health and Prometheus-style metrics.

Each request becomes its own task, so a call waiting on a slow function never delays the
next request. Only clients whose public key is in the allow-list get past the
handshake; everyone else's handshake is refused. Every request is checked again against
the current allow-list (by the key ZAP gave its connection), so a removed operator is
refused at once on a connection it opened before. The HTTP port is on loopback, where
every local user can reach it: without the bearer token it says only that the agent is
up; version, node name and metrics (function names, counts) need the token.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import json
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

import zmq
import zmq.asyncio
from zmq.auth.asyncio import AsyncioAuthenticator

from . import __version__, protocol
from .config import AgentConfig
from .daemon import EXIT_CONFIG
from .executor import Executor
from .journal import Journal
from .keys import ensure_server_keys
from .service import Service

log = logging.getLogger("faasctl_agent")


class BindFailed(Exception):
    """A socket the configuration names cannot be bound: restarting will not help."""


def bind_failure(port: int, where: str, exc: BaseException) -> BindFailed:
    code = getattr(exc, "errno", None)
    if code == errno.EADDRINUSE:
        return BindFailed(f"port {port} in use on the node ({where})")
    return BindFailed(f"cannot bind {where} on the node: {exc}")


class AgentServer:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.ctx = zmq.asyncio.Context()
        self.service = Service(config, Executor(config.scope), Journal(config.journal_path))
        self._metrics: Any = None  # prometheus_client's registry, made at the first scrape
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        public, secret = ensure_server_keys(self.config.keys_dir)
        auth = AsyncioAuthenticator(self.ctx)
        auth.start()
        auth.configure_curve_callback("*", self.service.allow)
        # A plain socket read from the loop's own selector: zmq.asyncio's futures cost about
        # 50 µs a request here, a third of the agent's warm-call overhead.
        # (Same C context as the authenticator, so CURVE's ZAP handler still applies.)
        sock: zmq.Socket[bytes] = zmq.Context.shadow(self.ctx.underlying).socket(zmq.ROUTER)
        sock.curve_server = True
        sock.curve_publickey, sock.curve_secretkey = public, secret
        sock.setsockopt(zmq.LINGER, 0)
        try:
            try:
                sock.bind(self.config.zmq_endpoint)
            except zmq.ZMQError as exc:
                port = int(self.config.zmq_endpoint.rsplit(":", 1)[-1])
                raise bind_failure(port, f"agent socket {self.config.zmq_endpoint}", exc) from exc
            try:
                http = await asyncio.start_server(self._http, self.config.http_host, self.config.http_port)
            except OSError as exc:
                where = f"agent health {self.config.http_host}:{self.config.http_port}"
                raise bind_failure(self.config.http_port, where, exc) from exc
        except BindFailed:
            sock.close()
            auth.stop()
            self.ctx.term()
            raise
        await self.service.start()
        log.info("agent %s %s serving on %s", self.config.name, __version__, self.config.zmq_endpoint)
        reaper = asyncio.ensure_future(self._reap())
        fd = int(sock.getsockopt(zmq.FD))
        loop.add_reader(fd, self._drain, sock)
        self._drain(sock)
        await self._stop.wait()
        log.info("stopping")
        loop.remove_reader(fd)
        await self.service.stop(remove_containers=True)
        if self._tasks:  # replies of calls that finished while draining
            await asyncio.wait(list(self._tasks), timeout=5)
        reaper.cancel()
        http.close()
        sock.close()
        auth.stop()
        self.ctx.term()

    def _drain(self, sock: zmq.Socket[bytes]) -> None:
        """Take every waiting request (ZeroMQ's descriptor is edge-triggered: drain it).

        `hello` is answered here, and a sync invoke that an idle warm worker can take runs
        by callbacks from here to its reply (`Service.warm_invoke`): a task per request
        cost as much as the whole ZeroMQ leg. Everything else becomes a task of its own.
        """
        if sock.closed:
            return
        allows = self.service.allow.allows
        while int(sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
            try:
                ident = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            # Part by part: recv_multipart costs more, and only the last part needs to be a
            # Frame (for its User-Id): measured in bench/operator_check.py.
            last = sock.recv(copy=False)  # the parts of a message arrive together
            while last.more:
                last = sock.recv(copy=False)
            try:
                req_id, op, args = protocol.decode_request(last.bytes)
            except protocol.ProtocolError as exc:
                refused = protocol.error("", protocol.E_PROTOCOL, str(exc),
                                         "upgrade faasctl or the agent so both speak one protocol")
                self._send(sock, ident, refused, drain=False)
                continue
            user = _user_id(last)
            if not allows(user):
                self._send(sock, ident, self._unauthorized(req_id, user), drain=False)
                continue
            if op == "hello":
                self._send(sock, ident, protocol.ok(req_id, self.service.hello()), drain=False)
                continue
            try:
                if op == "invoke" and self.service.warm_invoke(args, self._replier(sock, ident, req_id, args)):
                    continue
            except Exception as exc:  # a bug: keep serving, tell the caller, log the trace
                log.exception("request failed")
                self._send(sock, ident, self._internal(req_id, exc), drain=False)
                continue
            task = asyncio.ensure_future(self._handle(sock, ident, req_id, op, args))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _replier(self, sock: zmq.Socket[bytes], ident: bytes, req_id: str,
                 args: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
        def reply(data: dict[str, Any]) -> None:
            extra: list[bytes] = []
            try:
                data, extra = protocol.split_result(data, bool(args.get(protocol.RESULT_FRAME)))
                frame = protocol.ok(req_id, data)
            except Exception as exc:  # a bug: the caller still gets an answer
                log.exception("reply failed")
                frame, extra = self._internal(req_id, exc), []
            self._send(sock, ident, frame, extra=extra)

        return reply

    async def _handle(self, sock: zmq.Socket[bytes], ident: bytes, req_id: str, op: str, args: dict[str, Any]) -> None:
        extra: list[bytes] = []
        try:
            asked = op in protocol.RESULT_FRAME_OPS and bool(args.get(protocol.RESULT_FRAME))
            data, extra = protocol.split_result(await self.service.call_op(op, args), asked)
            reply = protocol.ok(req_id, data)
        except protocol.AgentFailure as exc:
            reply = protocol.error(req_id, exc.code, exc.message, exc.hint)
        except Exception as exc:  # a bug: keep serving, tell the caller, log the trace
            log.exception("request failed")
            reply, extra = self._internal(req_id, exc), []
        self._send(sock, ident, reply, extra=extra)

    def _unauthorized(self, req_id: str, user: str) -> bytes:
        self.service.count("requests_refused_unauthorized")
        return protocol.error(req_id, protocol.E_UNAUTHORIZED,
                              f"this operator's key is not authorised on node {self.config.name}",
                              f"ask an operator to run: faasctl operator add NAME --public-key '{user}'")

    def _internal(self, req_id: str, exc: Exception) -> bytes:
        return protocol.error(req_id, protocol.E_INTERNAL, f"agent error: {exc!r}", f"see {self.config.log_path}")

    def _send(self, sock: zmq.Socket[bytes], ident: bytes, reply: bytes, drain: bool = True,
              extra: list[bytes] | None = None) -> None:
        """`extra`: a raw result frame after the reply (protocol.split_result), sent without a copy."""
        if extra:
            self.service.count("result_frames")
        if not sock.closed:
            # ROUTER never blocks; it drops at HWM
            sock.send_multipart([ident, reply, *extra] if extra else [ident, reply], zmq.NOBLOCK, copy=not extra)
            if drain:  # sending can swallow the descriptor's edge for requests that arrived meanwhile
                self._drain(sock)

    async def _reap(self) -> None:
        """Flush written-behind journal rows often; look for idle containers each second."""
        tick = 0
        while True:
            await asyncio.sleep(0.05)
            tick += 1
            if tick % 20:
                self.service.journal.flush()
            else:
                self.service.reap()

    async def _http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            line, *headers = request.decode(errors="replace").split("\r\n")
            path = line.split(" ")[1] if line.count(" ") >= 2 else "/"
            authorized = self._authorized(headers)
            ctype = "application/json"
            if path == "/healthz":
                status = "200 OK"  # liveness is no secret; who and what runs here is
                info = {"ok": True, "agent": __version__, "node": self.config.name} if authorized else {"ok": True}
                body = json.dumps(info).encode()
            elif path == "/metrics" and authorized:
                status, body, ctype = "200 OK", *self._scrape()
            elif path == "/metrics":
                status = "401 Unauthorized"
                body = b'{"error":"token required","hint":"send Authorization: Bearer <http_token of agent.json>"}'
            else:
                status, body = "404 Not Found", b'{"error":"not found"}'
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _scrape(self) -> tuple[bytes, str]:
        """The exposition text; prometheus_client is imported at the first scrape only, so
        an agent nobody scrapes neither loads it nor carries its objects."""
        from . import metrics

        if self._metrics is None:
            self._metrics = metrics.registry(self.service)
        return metrics.exposition(self._metrics), metrics.CONTENT_TYPE

    def _authorized(self, headers: list[str]) -> bool:
        """The bearer token of agent.json, compared in constant time; no token set: nobody."""
        token = self.config.http_token
        if not token:
            return False
        expected = f"Bearer {token}".encode()
        for header in headers:
            name, _, value = header.partition(":")
            if name.strip().lower() == "authorization":
                return hmac.compare_digest(value.strip().encode(), expected)
        return False


def _user_id(frame: zmq.Frame) -> str:
    """The z85 key of the frame's sender, as ZAP named its connection ("" if none was set)."""
    try:
        return str(frame.get("User-Id"))
    except zmq.ZMQError:
        return ""


async def _serve(config: AgentConfig) -> None:
    # Built inside the running loop: on Python 3.9 an asyncio.Event made before
    # asyncio.run() binds to another loop, and the agent dies at its first wait.
    await AgentServer(config).run()


def serve(config: AgentConfig) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        asyncio.run(_serve(config))
    except BindFailed as exc:
        log.error("%s", exc)
        tmp = config.fatal_path.with_suffix(".tmp")
        tmp.write_text(f"{exc}\n")
        tmp.replace(config.fatal_path)
        sys.exit(EXIT_CONFIG)
