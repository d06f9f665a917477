"""The pieces of a warm call, each measured on its own (used by bench/warm_path.py).

Each function returns a zero-argument round trip, so the driver can time them all with
one loop and interleave them in rounds: on a noisy two-core machine only figures taken
side by side compare. Every container made here is recorded in `cleanup`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import PROBE, sh
from faasctl_agent.channel import RunnerChannel
from faasctl_agent.sockchannel import SocketChannel
from measure import RawAttach

LIMITS = ["--network", "none", "--cpus", "1", "--memory", "256m", "--user", "65534:65534", "--cap-drop", "ALL"]
Trip = Callable[[], object]


def _closing(*things: Any) -> Callable[[], None]:
    def close() -> None:
        for thing in things:
            thing.close()

    return close


def runner_container(agent_cid: str, cleanup: list[str], extra: tuple[str, ...] = (),
                     command: tuple[str, ...] = ("python3", "-u", "/opt/faasctl/runner.py")) -> tuple[str, str]:
    """A container like the agent's warm one (its image, volumes, limits), not yet started."""
    info = json.loads(sh(["docker", "inspect", agent_cid]))[0]
    mounts = [f"{m['Name']}:{m['Destination']}:ro" for m in info["Mounts"] if m.get("Name")]
    name = f"faasctl-bench-runner-{secrets.token_hex(3)}"
    cleanup.append(name)
    vols = [a for m in mounts for a in ("-v", m)]
    sh(["docker", "create", "-i", "--name", name, *LIMITS, "--read-only", *vols, *extra, "-w",
        info["Config"]["WorkingDir"], info["Config"]["Image"], *command])
    return name, info["Config"]["WorkingDir"]


def _listening(folder: Path) -> socket.socket:
    """The agent's side of a runner socket, as sockdirs.Listener lays it out."""
    os.chmod(folder, 0o711)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "agent.sock"))
    os.chmod(folder / "agent.sock", 0o666)
    listener.listen(1)
    return listener


SOCKET_ARGS = ("-e", "FAASCTL_SOCKET=/run/faasctl/agent.sock")


def runner_unix(agent_cid: str, cleanup: list[str], use_asyncio: bool) -> tuple[Trip, Callable[[], None]]:
    """The real runner over its Unix socket in a folder mounted read-only, as the agent
    mounts it, with a bare client: blocking, or asyncio streams (the floor of the leg)."""
    folder = Path(tempfile.mkdtemp(prefix="faasctl-bench-sock-"))
    listener = _listening(folder)
    name, path = runner_container(agent_cid, cleanup, ("-v", f"{folder}:/run/faasctl:ro", *SOCKET_ARGS))
    sh(["docker", "start", name])
    listener.settimeout(30)
    sock, _ = listener.accept()
    listener.close()
    sock.settimeout(None)
    rfile = sock.makefile("rb")
    rfile.readline()  # ready
    sock.sendall(init_line(path))
    if b'"ok":true' not in rfile.readline():
        raise RuntimeError("the runner did not load the bench handler")
    if not use_asyncio:
        def trip() -> object:
            sock.sendall(PROBE)
            return rfile.readline()

        return trip, _closing(rfile, sock)
    rfile.close()
    loop = asyncio.new_event_loop()
    reader, writer = loop.run_until_complete(asyncio.open_unix_connection(sock=sock))
    return _async_trip(loop, reader, writer)


def runner_sockchannel(agent_cid: str, cleanup: list[str]) -> tuple[Trip, Callable[[], None]]:
    """The real runner driven by the agent's own SocketChannel (attach open beside it for
    stderr, as in the agent): the runner leg of a warm call now, without ZeroMQ or pool."""
    folder = Path(tempfile.mkdtemp(prefix="faasctl-bench-sock-"))
    listener = _listening(folder)
    listener.setblocking(False)
    name, path = runner_container(agent_cid, cleanup, ("-v", f"{folder}:/run/faasctl:ro", *SOCKET_ARGS))
    loop = asyncio.new_event_loop()

    async def setup() -> SocketChannel:
        attach = await RunnerChannel.attach(name)
        sh(["docker", "start", name])
        conn, _ = await asyncio.wait_for(loop.sock_accept(listener), 30)
        channel = await SocketChannel.accept(conn, attach)
        await asyncio.wait_for(asyncio.shield(channel.ready), 30)
        await channel.request({"op": "init", "mode": "handler", "path": path, "handler": "main:handle", "run": ""}, 30)
        return channel

    channel = loop.run_until_complete(setup())
    listener.close()
    msg = {"op": "call", "id": "0123456789abcdef01234567", "params": {}}

    def trip() -> object:
        return loop.run_until_complete(channel.request(msg, 30.0))

    def close() -> None:
        channel.close()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()

    return trip, close


def init_line(path: str) -> bytes:
    msg = {"op": "init", "mode": "handler", "path": path, "handler": "main:handle", "run": ""}
    return json.dumps(msg).encode() + b"\n"


def runner_attach(agent_cid: str, cleanup: list[str]) -> tuple[Trip, Callable[[], None]]:
    """The real runner, a blocking client on the attach stream: the runner's own cost."""
    name, path = runner_container(agent_cid, cleanup)
    client = RawAttach(name)
    sh(["docker", "start", name])
    client.read_line()  # ready
    client.sock.sendall(init_line(path))
    if b'"ok":true' not in client.read_line():
        raise RuntimeError("the runner did not load the bench handler")

    def trip() -> object:
        client.sock.sendall(PROBE)
        return client.read_line()

    return trip, client.close


def runner_channel(agent_cid: str, cleanup: list[str]) -> tuple[Trip, Callable[[], None]]:
    """The real runner driven by the agent's own asyncio RunnerChannel: no ZeroMQ, no pool."""
    name, path = runner_container(agent_cid, cleanup)
    loop = asyncio.new_event_loop()

    async def setup() -> RunnerChannel:
        channel = await RunnerChannel.attach(name)
        sh(["docker", "start", name])
        await asyncio.wait_for(asyncio.shield(channel.ready), 30)
        await channel.request({"op": "init", "mode": "handler", "path": path, "handler": "main:handle", "run": ""}, 30)
        return channel

    channel = loop.run_until_complete(setup())
    msg = {"op": "call", "id": "0123456789abcdef01234567", "params": {}}

    def trip() -> object:
        return loop.run_until_complete(channel.request(msg, 30.0))

    def close() -> None:
        channel.close()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()

    return trip, close


def unix_echo(image: str, cleanup: list[str], use_asyncio: bool) -> tuple[Trip, Callable[[], None]]:
    """An echo loop in a locked-down container listening on a Unix socket in a mounted
    folder, reached from the host without dockerd: what a socket channel would cost."""
    folder = Path(tempfile.mkdtemp(prefix="faasctl-bench-sock-"))
    os.chmod(folder, 0o777)
    server = ("import socket\ns = socket.socket(socket.AF_UNIX)\ns.bind('/s/echo.sock')\ns.listen(1)\n"
              "c, _ = s.accept()\nf = c.makefile('rb')\nfor line in f:\n    c.sendall(line)\n")
    name = f"faasctl-bench-sock-{secrets.token_hex(3)}"
    cleanup.append(name)
    sh(["docker", "run", "-d", "--name", name, *LIMITS, "--read-only", "-v", f"{folder}:/s", image,
        "python3", "-u", "-c", server])
    path = folder / "echo.sock"
    for _ in range(200):
        if path.exists():
            break
        time.sleep(0.05)
    if not use_asyncio:
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(str(path))
        rfile = sock.makefile("rb")

        def trip() -> object:
            sock.sendall(PROBE)
            return rfile.readline()

        return trip, _closing(rfile, sock)
    loop = asyncio.new_event_loop()
    reader, writer = loop.run_until_complete(asyncio.open_unix_connection(str(path)))
    return _async_trip(loop, reader, writer)


def _async_trip(loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter) -> tuple[Callable[[], object], Callable[[], None]]:
    """One PROBE line out and one line back on an asyncio stream, run to completion per call."""

    async def once() -> bytes:
        writer.write(PROBE)
        return await reader.readline()

    def atrip() -> object:
        return loop.run_until_complete(once())

    def aclose() -> None:
        writer.close()
        loop.close()

    return atrip, aclose
