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
from faasctl_agent.framing import LineFramer

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
    add("client: protocol.decode of the reply", timed(lambda: protocol.decode(reply), repeat))
    rows += record_rows(result, repeat)
    return rows


def record_rows(result: str, repeat: int) -> list[Row]:
    """The call record's outcome through the real group-commit writer on a real state file."""
    from faasctl.state import db, fastpath, groupcommit

    tmp = Path(tempfile.mkdtemp(prefix="faasctl-bench-large-"))
    path = tmp / "state.db"
    db.open_engine(path).dispose()
    writer = groupcommit.for_file(path, lambda p: fastpath.connect(p, shared=True))
    fn = {"name": "f", "version": 1}
    nums = iter(range(1, 10**6))

    def record(durable: bool) -> None:
        num = writer.run(lambda c: fastpath.add_call(c, os.urandom(12).hex(), fn, {}, False), durable=False)
        writer.run(lambda c: fastpath.set_call(c, num, {"status": "DONE", "result": result}), durable=durable)
        next(nums)

    rows = [Row("state: PENDING insert + outcome with the result, no sync", timed(lambda: record(False), repeat), "ms"),
            Row("state: the same, outcome durable (WAL fdatasync)", timed(lambda: record(True), repeat), "ms")]
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
