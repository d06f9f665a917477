"""The runner's socket channel (issue 12): replies by callback, timeouts, a dead runner's
stderr taken from the attach stream, oversized and broken replies. Socket pairs stand in
for the runner's socket and for the engine's attach stream; the runner itself is real in
the last tests (runner.py as a process), picking its socket or falling back to stdout."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import faasctl_agent
import pytest
from faasctl_agent.channel import RunnerChannel, RunnerGone
from faasctl_agent.sockchannel import SocketChannel

RUNNER = Path(faasctl_agent.__file__).parent / "runner" / "runner.py"
ME = f"{os.getuid()}:{os.getgid()}"  # a runner started as root drops to "user" at init: stay who we are


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


async def pair(limit: int | None = None) -> tuple[SocketChannel, socket.socket, socket.socket]:
    """A SocketChannel, the runner's end of its socket and the engine's end of attach."""
    attach_ours, engine = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=attach_ours)
    attach = RunnerChannel(reader, writer)
    ours, runner = socket.socketpair()
    channel = await (SocketChannel.accept(ours, attach) if limit is None else SocketChannel.accept(ours, attach, limit))
    runner.setblocking(False)
    engine.setblocking(False)
    return channel, runner, engine


async def read_line(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while not data.endswith(b"\n"):
        data += await loop.sock_recv(sock, 65536)
    return data


def test_ready_then_a_call_answered_by_callback() -> None:
    async def main() -> None:
        channel, runner, engine = await pair()
        runner.sendall(b'{"op":"ready","pid":7}\n')
        assert (await asyncio.wait_for(channel.ready, 5))["pid"] == 7
        got: list[Any] = []
        channel.submit({"op": "call", "id": "c1", "params": [1]}, 5, lambda r, e: got.append((r, e)))
        assert got == []  # never from inside submit
        assert json.loads(await read_line(runner)) == {"op": "call", "id": "c1", "params": [1]}
        runner.sendall(b'{"id":"c1","ok":true,"res')  # a reply cut anywhere
        await asyncio.sleep(0.01)
        runner.sendall(b'ult":"2"}\n')
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.01)
        assert got == [({"id": "c1", "ok": True, "result": "2"}, None)]
        pending = asyncio.ensure_future(channel.request({"op": "call", "id": "c2"}, 5))
        await read_line(runner)
        runner.sendall(b'{"id":"c2","ok":false}\n')
        assert await asyncio.wait_for(pending, 5) == {"id": "c2", "ok": False}
        channel.close()
        runner.close()
        engine.close()

    asyncio.run(main())


def test_timeout_fires_and_a_late_reply_is_dropped() -> None:
    async def main() -> None:
        channel, runner, engine = await pair()
        with pytest.raises(asyncio.TimeoutError):
            await channel.request({"op": "call", "id": "slow"}, 0.05)
        runner.sendall(b'{"id":"slow","ok":true}\n')  # after its caller gave up: goes nowhere
        runner.sendall(b'{"op":"ready"}\n')
        await asyncio.wait_for(channel.ready, 5)  # still reading, still sane
        channel.close()
        runner.close()
        engine.close()

    asyncio.run(main())


def test_dead_runner_reports_the_stderr_that_attach_brings_after_the_socket_closed() -> None:
    async def main() -> None:
        channel, runner, engine = await pair()
        pending = asyncio.ensure_future(channel.request({"op": "call", "id": "c1"}, 5))
        await read_line(runner)
        runner.close()  # the runner died: its socket ends first...
        await asyncio.sleep(0.05)
        assert not pending.done()  # ...and the channel waits for its stderr
        engine.sendall(frame(2, b"Traceback: boom\n"))
        engine.close()
        with pytest.raises(RunnerGone, match="boom") as gone:
            await asyncio.wait_for(pending, 5)
        assert not gone.value.over_limit
        assert channel.closed
        with pytest.raises(RunnerGone, match="boom"):
            await channel.request({"op": "call", "id": "c2"}, 5)
        channel.close()

    asyncio.run(main())


@pytest.mark.parametrize("line", [b"z" * 3000, b"not json\n"])
def test_oversized_or_broken_reply_ends_the_channel(line: bytes) -> None:
    async def main() -> None:
        channel, runner, engine = await pair(limit=1000)
        pending = asyncio.ensure_future(channel.request({"op": "call", "id": "c1"}, 5))
        await read_line(runner)
        runner.sendall(line)
        if line.startswith(b"not"):  # a broken runner: gone once its stream ends
            engine.close()
        with pytest.raises(RunnerGone) as gone:
            await asyncio.wait_for(pending, 5)
        assert gone.value.over_limit == line.startswith(b"z")
        assert channel.closed
        channel.close()
        runner.close()
        engine.close()

    asyncio.run(main())


def run_runner(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-u", str(RUNNER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, **env})


def test_runner_speaks_over_its_socket_and_prints_to_stderr(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sock-", dir="/tmp"))  # short: a Unix socket path
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "agent.sock"))
    listener.listen(1)
    listener.settimeout(30)
    (tmp_path / "main.py").write_text("def handle(p):\n    print('to the log')\n    return p\n")
    proc = run_runner({"FAASCTL_SOCKET": str(folder / "agent.sock")})
    try:
        conn, _ = listener.accept()
        lines = conn.makefile("rb")
        assert json.loads(lines.readline())["op"] == "ready"
        conn.sendall(json.dumps({"op": "init", "mode": "handler", "path": str(tmp_path),
                                 "handler": "main:handle", "user": ME}).encode() + b"\n")
        assert json.loads(lines.readline())["ok"] is True
        conn.sendall(b'{"op":"call","id":"c1","params":{"a":1}}\n')
        reply = json.loads(lines.readline())
        assert reply["result"] == '{"a":1}' and reply["log"] == "to the log\n" and reply["id"] == "c1"
        lines.close()
        conn.close()  # the agent's end closing ends the runner, as stdin's end did
        out, _ = proc.communicate(timeout=30)
        assert out == b""  # nothing on stdout: the socket carried the protocol
        assert proc.returncode == 0
    finally:
        proc.kill()
        listener.close()
        os.unlink(folder / "agent.sock")
        folder.rmdir()


def test_runner_without_a_reachable_socket_uses_stdin_and_stdout(tmp_path: Path) -> None:
    proc = run_runner({"FAASCTL_SOCKET": str(tmp_path / "nobody-listens.sock")})
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert json.loads(proc.stdout.readline())["op"] == "ready"
        init = {"op": "init", "mode": "command", "path": "/", "run": "cat", "user": ME}
        proc.stdin.write(json.dumps(init).encode() + b'\n{"op":"call","id":"c1","params":5}\n')
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["ok"] is True
        assert json.loads(proc.stdout.readline())["result"] == "5"
        proc.stdin.close()
        assert proc.wait(30) == 0
    finally:
        proc.kill()
