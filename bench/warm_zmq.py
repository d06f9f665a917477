"""The operator-to-agent leg of a warm call, split (used by bench/warm_path.py).

A ROUTER echo in another process, reached by a DEALER in the bench over loopback: plain
or CURVE, and served either by a blocking loop or the way the agent serves (an asyncio
loop reading the socket's descriptor with add_reader, a task per request, a NOBLOCK
reply). Set against the agent's `hello`, this tells ZeroMQ and CURVE apart from the
event loop's share. Also the JSON work of one warm call on both sides, in-process.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import secrets
import time
from collections.abc import Callable
from typing import Any

import zmq
from faasctl_agent import protocol

Trip = Callable[[], object]


def _serve(curve: bool, use_asyncio: bool, keys: tuple[bytes, bytes], ready: Any, port: Any) -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    if curve:
        sock.curve_server = True
        sock.curve_publickey, sock.curve_secretkey = keys
    port.value = sock.bind_to_random_port("tcp://127.0.0.1")
    ready.set()
    if use_asyncio:
        asyncio.run(_serve_async(sock))
    else:
        while True:
            frames = sock.recv_multipart()
            if frames[-1] == b"stop":
                break
            sock.send_multipart(frames)
    sock.close(0)
    ctx.term()


async def _serve_async(sock: zmq.Socket[bytes]) -> None:
    """The agent's structure (server.py) with nothing behind it: drain, task, reply."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    tasks: set[asyncio.Task[None]] = set()

    async def handle(ident: bytes, frame: bytes) -> None:
        req_id, _, _ = protocol.decode_request(frame)
        sock.send_multipart([ident, protocol.ok(req_id, {"hello": True})], zmq.NOBLOCK)
        loop.call_soon(drain)

    def drain() -> None:
        while int(sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if frames[-1] == b"stop":
                if not done.done():
                    done.set_result(None)
                return
            task = asyncio.ensure_future(handle(frames[0], frames[-1]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    fd = int(sock.getsockopt(zmq.FD))
    loop.add_reader(fd, drain)
    drain()
    await done
    loop.remove_reader(fd)


def echo_server(curve: bool, use_asyncio: bool = False) -> tuple[str, bytes, Callable[[], None]]:
    """A ROUTER echo in another process: its endpoint, its public key, and how to stop it."""
    spawn = mp.get_context("spawn")
    server_pub, server_sec = zmq.curve_keypair()
    ready, port = spawn.Event(), spawn.Value("i", 0)
    proc = spawn.Process(target=_serve, args=(curve, use_asyncio, (server_pub, server_sec), ready, port), daemon=True)
    proc.start()
    if not ready.wait(30):
        raise RuntimeError("the ZeroMQ echo process did not start")
    endpoint = f"tcp://127.0.0.1:{port.value}"

    def stop() -> None:
        sock = dealer(endpoint, server_pub if curve else None)[1]
        sock.send(b"stop")
        proc.join(10)
        if proc.is_alive():
            proc.kill()
        sock.close(0)

    return endpoint, server_pub, stop


def dealer(endpoint: str, server_pub: bytes | None) -> tuple[Trip, zmq.Socket[bytes]]:
    """One caller's DEALER (CURVE when a server key is given) and its round trip."""
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    if server_pub is not None:
        sock.curve_serverkey = server_pub
        sock.curve_publickey, sock.curve_secretkey = zmq.curve_keypair()
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    frame = protocol.request("x-1", "hello")

    def trip() -> object:
        sock.send(frame)
        return sock.recv()

    return trip, sock


def zmq_echo(curve: bool, use_asyncio: bool = False) -> tuple[Trip, Callable[[], None]]:
    """A DEALER in the bench to a ROUTER echo in another process, on loopback."""
    endpoint, server_pub, stop = echo_server(curve, use_asyncio)
    trip, sock = dealer(endpoint, server_pub if curve else None)

    def close() -> None:
        sock.close(0)
        stop()

    return trip, close


def json_costs(n: int = 20000) -> dict[str, float]:
    """Microseconds per warm call of the agent's and the client's JSON work, in-process."""
    args = {"call_id": secrets.token_hex(12), "function": "bench-warm", "digest": "a" * 64, "params": {}}
    call = {"id": args["call_id"], "function": "bench-warm", "digest": "a" * 64, "params": {}, "status": "DONE",
            "is_async": False, "retries": 0, "accepted_at": time.time(), "attempts": 1, "start_kind": "warm",
            "queue_ms": 0.0, "start_ms": 0.0, "result": "ok", "log": "", "error": "", "run_ms": 0.12,
            "finished_at": time.time()}
    runner_msg = {"op": "call", "id": args["call_id"], "params": {}}
    runner_reply = b'{"ok":true,"result":"ok","log":"","id":"0123456789abcdef01234567","ms":0.011}'
    steps: dict[str, Callable[[], object]] = {
        "client request encode": lambda: protocol.request("x-1", "invoke", args),
        "agent request decode": lambda: protocol.decode_request(protocol.request("x-1", "invoke", args)),
        "agent runner msg encode": lambda: json.dumps(runner_msg, separators=(",", ":")).encode(),
        "agent runner reply decode": lambda: json.loads(runner_reply),
        "agent reply encode": lambda: protocol.ok("x-1", call),
        "client reply decode": lambda: protocol.decode(protocol.ok("x-1", call)),
    }
    out = {}
    for what, step in steps.items():
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        out[what] = (time.perf_counter() - t0) / n * 1e6
    # decode rows above include their encode: subtract it so each row is one step
    out["agent request decode"] -= out["client request encode"]
    out["client reply decode"] -= out["agent reply encode"]
    return out
