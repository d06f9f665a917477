"""Where a 10 MB result's time goes: each step of its path on its own, in one run.

Issue 12 asks for a 10 MB handler result within 3x of the same bytes over a bare attach
stream. This times, in this process and on this machine, every step such a result
takes between the handler's return and `invoke()`'s: the runner's reply encoding, the
agent's framing and decoding, the agent's ZeroMQ reply (JSON, CURVE over loopback), the
client's decoding and the durable call record (group commit's write and WAL sync). Each
figure is the median of `--repeat` runs after one unmeasured one.

    .venv/bin/python bench/large_parts.py [--mb 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import zmq
from benchlib import ROOT, Row, report
from faasctl_agent import protocol
from faasctl_agent.framing import LineFramer, ReplyFramer

sys.path.insert(0, str(ROOT / "agent" / "faasctl_agent" / "runner"))
import runner as runner_mod  # noqa: E402  (the runner is a script beside its kinds, not a package)

CHUNK = 256 * 1024  # what asyncio's selector transports read at a time


def timed(step: Callable[[], object], repeat: int) -> float:
    step()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def zmq_pair(curve: bool) -> tuple[zmq.Socket[bytes], zmq.Socket[bytes], bytes]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    server, client = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
    if curve:
        spub, ssec = zmq.curve_keypair()
        cpub, csec = zmq.curve_keypair()
        server.curve_server, server.curve_publickey, server.curve_secretkey = True, spub, ssec
        client.curve_serverkey, client.curve_publickey, client.curve_secretkey = spub, cpub, csec
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect(f"tcp://127.0.0.1:{port}")
    client.send(b"hi")
    ident, _ = server.recv_multipart()
    server.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.LINGER, 0)
    return server, client, ident


def main(mb: int, repeat: int) -> list[Row]:
    size = mb * 1_000_000
    result = "x" * size
    rows: list[Row] = []

    def add(what: str, ms: float, note: str = "") -> None:
        rows.append(Row(what, ms, "ms", note=note))

    # runner: the reply line as Runner.send writes it (json.dumps, utf-8 encode of a text file)
    sink = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n")
    runner = runner_mod.Runner(sink)

    def runner_send() -> None:
        sink.seek(0)
        sink.truncate()
        runner.send({"ok": True, "result": result, "log": "", "id": "c1", "ms": 1.0})

    add("runner: reply to a JSON line and write it (Runner.send)", timed(runner_send, repeat))

    def runner_send_raw() -> None:
        sink.seek(0)
        sink.truncate()
        runner.send({"ok": True, "result": result, "log": "", "id": "c1", "ms": 1.0}, raw=True)

    add("runner, raw: header line + the result's bytes (Runner.send raw=True)", timed(runner_send_raw, repeat))
    sink.seek(0)
    sink.truncate()
    runner.send({"ok": True, "result": result, "log": "", "id": "c1", "ms": 1.0}, raw=True)
    sink.flush()
    raw_reply = sink.buffer.getvalue()  # type: ignore[attr-defined]

    def frame_raw() -> list[dict[str, object]]:
        framer = ReplyFramer()
        out: list[dict[str, object]] = []
        for i in range(0, len(raw_reply), CHUNK):
            out += framer.feed(raw_reply[i:i + CHUNK])
        return out

    add("agent, raw: ReplyFramer over the same reads, result decoded", timed(frame_raw, repeat))
    line = json.dumps({"ok": True, "result": result, "log": "", "id": "c1", "ms": 1.0},
                      separators=(",", ":")).encode() + b"\n"

    def frame() -> list[bytes]:
        framer = LineFramer()
        out: list[bytes] = []
        for i in range(0, len(line), CHUNK):
            out += framer.feed(line[i:i + CHUNK])
        return out

    add(f"agent: framing the line from {CHUNK // 1024} KiB reads (LineFramer)", timed(frame, repeat))
    add("agent: json.loads of the reply line", timed(lambda: json.loads(line), repeat))
    call = {"id": "c1", "function": "f", "digest": "d", "params": {}, "status": "DONE", "is_async": False,
            "result": result, "log": "", "error": "", "start_kind": "warm", "run_ms": 40.0}
    add("agent: the ZeroMQ reply's JSON (protocol.ok)", timed(lambda: protocol.ok("r1", call), repeat))
    reply = protocol.ok("r1", call)

    def split() -> bytes:
        data, extra = protocol.split_result(call, True)
        return protocol.ok("r1", data) + extra[0][:0]

    add("agent, raw frame: split_result + the small JSON (result encoded once)", timed(split, repeat))
    head, extra = protocol.split_result(call, True)
    head_frame = protocol.ok("r1", head)
    add("client, raw frame: decode + join_result", timed(lambda: protocol.join_result(protocol.decode(head_frame),
                                                                                       extra), repeat))
    for curve in (False, True):
        server, client, ident = zmq_pair(curve)

        def send_recv(server: zmq.Socket[bytes] = server, client: zmq.Socket[bytes] = client,
                      ident: bytes = ident) -> None:
            server.send_multipart([ident, reply], copy=False)
            client.recv(copy=False)

        add(f"ZeroMQ over loopback TCP, {'CURVE' if curve else 'plain'}: one {mb} MB frame",
            timed(send_recv, repeat))
        server.close()
        client.close()
    for parts in (1, 10):
        add(f"ZeroMQ CURVE between two processes: {mb} MB in {parts} frame(s)", curve_between(size, parts, repeat),
            note="cut in frames, the two sides' crypto could overlap")
    add("client: protocol.decode of the reply", timed(lambda: protocol.decode(reply), repeat))
    rows += record_rows(result, repeat)
    return rows


def _curve_server(port: int, public: bytes, secret: bytes, size: int) -> None:
    """A ROUTER in another process answering "N" with `size` bytes in N frames, until "0"."""
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.curve_server, sock.curve_publickey, sock.curve_secretkey = True, public, secret
    sock.bind(f"tcp://127.0.0.1:{port}")
    data = memoryview(b"x" * size)
    for _ in range(10_000):  # bounded: the client sends "0" at the end
        ident, req = sock.recv_multipart()
        parts = int(req)
        if not parts:
            break
        step = -(-size // parts)
        sock.send_multipart([ident, b"h", *(data[i:i + step] for i in range(0, size, step))], copy=False)
    sock.close(linger=0)
    ctx.term()


def curve_between(size: int, parts: int, repeat: int) -> float:
    import multiprocessing as mp
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    spub, ssec = zmq.curve_keypair()
    cpub, csec = zmq.curve_keypair()
    server = mp.get_context("spawn").Process(target=_curve_server, args=(port, spub, ssec, size))
    server.start()
    client: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    client.curve_serverkey, client.curve_publickey, client.curve_secretkey = spub, cpub, csec
    client.setsockopt(zmq.LINGER, 0)
    client.connect(f"tcp://127.0.0.1:{port}")
    try:
        def trip() -> None:
            client.send(b"%d" % parts)
            client.recv_multipart(copy=False)

        return timed(trip, repeat)
    finally:
        client.send(b"0")
        server.join(30)
        client.close()


def record_rows(result: str, repeat: int) -> list[Row]:
    """The call record's outcome through the real group-commit writer on a real state file."""
    from faasctl.state import db, fastpath, groupcommit

    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-large-"))
    path = tmp / "state.db"
    db.open_engine(path).dispose()
    writer = groupcommit.for_file(path, lambda p: fastpath.connect(p, shared=True))
    fn = {"name": "f", "version": 1}

    def record(durable: bool) -> None:
        num = writer.run(lambda c: fastpath.add_call(c, os.urandom(12).hex(), fn, {}, False), durable=False)
        writer.run(lambda c: fastpath.set_call(c, num, {"status": "DONE", "result": result}), durable=durable)

    def settled(durable: bool) -> None:
        """One record once the previous one's checkpoint is over: calls are not back to back."""
        for _ in range(300):  # bounded: 3 s
            if writer.checkpoints.pending() < 1000:
                break
            time.sleep(0.01)
        t0 = time.perf_counter()
        record(durable)
        times.append(time.perf_counter() - t0)

    rows = []
    for how in ("SQLite's checkpoint inside COMMIT (before)", "checkpoint in a thread (after)"):
        inside = how.endswith("(before)")
        writer.conn.execute(f"PRAGMA wal_autocheckpoint={1000 if inside else 0}")
        poke = writer.checkpoints.poke
        if inside:
            writer.checkpoints.poke = lambda: None  # type: ignore[method-assign]
        for durable in (False, True):
            times: list[float] = []
            for _ in range(repeat + 1):
                settled(durable)
            rows.append(Row(f"state, {how}: PENDING + outcome with the result, {'durable' if durable else 'no sync'}",
                            statistics.median(times[1:]) * 1e3, "ms"))
        writer.checkpoints.poke = poke  # type: ignore[method-assign]
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()
    report(main(opts.mb, opts.repeat), f"{opts.mb} MB result, median of {opts.repeat}")
