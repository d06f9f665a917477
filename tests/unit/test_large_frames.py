"""Large results as raw bytes (issue 12): the runner's header line and raw result, the
agent's ReplyFramer reading them however the stream is cut, and the ZeroMQ reply's raw
result frame split off and joined back; each with its fallback to plain JSON."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from faasctl_agent import protocol
from faasctl_agent.channel import RunnerChannel
from faasctl_agent.framing import LineTooLong, ReplyFramer
from faasctl_agent.runner import runner

TEXT = 'ab"\\\n\té€😀'  # JSON escapes, and two-, three- and four-byte UTF-8


def feed_all(framer: ReplyFramer, data: bytes, chunk: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for start in range(0, len(data), chunk):
        out.extend(framer.feed(data[start:start + chunk]))
    return out


def sent(msg: dict[str, object], raw: bool) -> bytes:
    """What Runner.send writes for `msg`, as the bytes on the pipe."""
    buf = io.BytesIO()
    out = io.TextIOWrapper(buf, encoding="utf-8", newline="\n")
    runner.Runner(out).send(msg, raw=raw)
    out.flush()
    return buf.getvalue()


def test_a_large_result_goes_raw_and_comes_back_whole_however_cut() -> None:
    result = TEXT * (runner.RAW_MIN // len(TEXT) + 3)
    data = b'{"op":"ready"}\n' + sent({"ok": True, "result": result, "log": "l", "id": "c1", "ms": 1.0}, True)
    lines = data.split(b"\n")
    assert b'"result_bytes":' in lines[1] and b'"result"' not in lines[1]  # the header has no result
    data += b'{"id":"c2","ok":true,"result":"small"}\n'
    for chunk in (1, 3, 4096, 65536, len(data)):
        framer = ReplyFramer()
        got = feed_all(framer, data, chunk)
        assert [m.get("id") for m in got] == [None, "c1", "c2"], chunk
        assert got[1]["result"] == result and got[1]["log"] == "l"
        assert got[2]["result"] == "small" and framer.pending == 0


@pytest.mark.parametrize("result,raw", [("x" * (runner.RAW_MIN - 1), True), ("x" * runner.RAW_MIN, False),
                                        ("\udc80" * runner.RAW_MIN, True)])
def test_small_unasked_or_unencodable_results_stay_one_json_line(result: str, raw: bool) -> None:
    data = sent({"ok": True, "result": result, "id": "c"}, raw)
    assert data.count(b"\n") == 1 and data.endswith(b"\n")
    assert json.loads(data)["result"] == result
    assert ReplyFramer().feed(data)[0]["result"] == result


def test_a_raw_result_over_the_limit_is_refused_by_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "RESULT_LIMIT", runner.RAW_MIN * 2)
    data = sent({"ok": True, "result": "x" * runner.RAW_MIN * 2, "id": "c", "log": ""}, True)
    reply = json.loads(data)
    assert reply["ok"] is False and reply["cause"] == "result"
    assert reply["error"].startswith("result over its limit: the reply is ")


def test_the_agent_refuses_an_announced_result_past_its_limit() -> None:
    with pytest.raises(LineTooLong):
        ReplyFramer(limit=1000).feed(b'{"id":"c","ok":true,"result_bytes":1001}\n')
    with pytest.raises(ValueError):
        ReplyFramer().feed(b'{"id":"c","ok":true,"result_bytes":2}\n\xff\xfe')  # not UTF-8
    assert ReplyFramer().feed(b'{"id":"c","ok":true,"result_bytes":0}\n')[0]["result"] == ""


def test_result_frame_split_and_joined() -> None:
    result = TEXT * (protocol.RESULT_FRAME_MIN // len(TEXT) + 1)
    data = {"status": "DONE", "result": result, "log": ""}
    rest, extra = protocol.split_result(data, asked=True)
    assert "result" not in rest and rest[protocol.RESULT_FRAME] and extra == [result.encode()]
    msg = protocol.join_result(protocol.decode(protocol.ok("r", rest)), extra)
    assert msg["data"] == data
    for small in (data, {**data, "result": "short"}, {**data, "result": "\udc80" * protocol.RESULT_FRAME_MIN}):
        asked = small is not data
        assert protocol.split_result(small, asked=asked) == (small, [])  # not asked, small, or not UTF-8
    with pytest.raises(protocol.ProtocolError, match="announced a result frame"):
        protocol.join_result(protocol.decode(protocol.ok("r", rest)), [])
    plain = protocol.decode(protocol.ok("r", {"result": "x"}))  # an older agent: no frame, nothing to join
    assert protocol.join_result(plain, [])["data"] == {"result": "x"}


def test_the_attach_channel_reads_a_raw_result_between_stderr_frames() -> None:
    """Where the socket cannot be used, stdout carries the same bytes inside attach frames."""
    async def scenario() -> None:
        ours, theirs = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=ours)
        _, engine = await asyncio.open_connection(sock=theirs)
        channel = RunnerChannel(reader, writer)
        result = TEXT * 20_000
        engine.write(attach_frame(1, b'{"op":"ready"}\n'))
        await asyncio.wait_for(channel.ready, 5)
        pending = asyncio.ensure_future(channel.request({"op": "call", "id": "c1", "raw": True}, 5))
        data = sent({"ok": True, "result": result, "log": "", "id": "c1"}, True)
        for i in range(0, len(data), 4000):
            engine.write(attach_frame(1, data[i:i + 4000]) + attach_frame(2, b"noise\n"))
        reply = await asyncio.wait_for(pending, 5)
        assert reply["result"] == result and reply["result_bytes"] == len(result.encode())
        channel.close()
        engine.close()

    asyncio.run(scenario())


def attach_frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_the_real_runner_sends_raw_only_when_the_call_asks(tmp_path: Path) -> None:
    """runner.py as a process on stdin/stdout (its fallback pipe), read by ReplyFramer."""
    (tmp_path / "main.py").write_text(f"def handle(p):\n    return {TEXT!r} * int(p)\n")
    runner_py = Path(runner.__file__)
    me = f"{os.getuid()}:{os.getgid()}"
    init = {"op": "init", "mode": "handler", "path": str(tmp_path), "handler": "main:handle", "user": me}
    n = 10_000
    calls = [init, {"op": "call", "id": "raw", "params": n, "raw": True}, {"op": "call", "id": "json", "params": n}]
    proc = subprocess.run([sys.executable, "-u", str(runner_py)], input=b"".join(
        json.dumps(c).encode() + b"\n" for c in calls), capture_output=True, timeout=60,
        env={**os.environ, "FAASCTL_SOCKET": ""})
    got = ReplyFramer().feed(proc.stdout)
    assert [m.get("id") for m in got] == [None, None, "raw", "json"], proc.stderr
    assert got[2]["result"] == got[3]["result"] == TEXT * n
    assert "result_bytes" in got[2] and "result_bytes" not in got[3]
