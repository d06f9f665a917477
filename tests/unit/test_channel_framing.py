"""Reply framing: each byte searched once, however the reply is cut into frames (issue 9, item 8)."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from faasctl_agent.channel import RunnerChannel, RunnerGone
from faasctl_agent.framing import LineFramer, LineTooLong


def feed_all(framer: LineFramer, data: bytes, chunk: int) -> list[bytes]:
    lines: list[bytes] = []
    for start in range(0, len(data), chunk):
        lines.extend(framer.feed(data[start:start + chunk]))
    return lines


@pytest.mark.parametrize("size", [1 << 20, 10 << 20, 25 << 20])
def test_large_reply_is_scanned_once(size: int) -> None:
    """The quadratic reader searched the whole buffer again per frame: for 25 MB in 16 KiB
    frames that was about 20 GB of searching. The framer searches each byte exactly once."""
    body = b'{"ok":true,"result":"' + b"x" * size + b'"}'
    framer = LineFramer()
    lines = feed_all(framer, body + b"\n", 16 * 1024)
    assert lines == [body]
    assert framer.scanned == len(body) + 1
    assert framer.pending == 0


def test_many_lines_split_anywhere() -> None:
    msgs = [b'{"n":%d,"pad":"%s"}' % (i, b"y" * (i * 37 % 500)) for i in range(300)]
    data = b"\n".join(msgs) + b"\n"
    for chunk in (1, 7, 64, 4096, len(data)):
        framer = LineFramer()
        assert feed_all(framer, data, chunk) == msgs
        assert framer.scanned == len(data)


def test_unfinished_line_is_kept_until_its_newline() -> None:
    framer = LineFramer()
    assert framer.feed(b'{"a":') == []
    assert framer.pending == 5
    assert framer.feed(b'1}\n{"b"') == [b'{"a":1}']
    assert framer.feed(b":2}\n") == [b'{"b":2}']
    assert framer.pending == 0


def test_line_over_the_limit_is_refused_with_bounded_memory() -> None:
    framer = LineFramer(limit=1000)
    framer.feed(b"z" * 600)
    with pytest.raises(LineTooLong):
        framer.feed(b"z" * 600)
    assert framer.pending <= 1000  # never held more than the limit


# The attach stream as Docker multiplexes it: an 8-byte header (1 = stdout, 2 = stderr,
# then the size, big-endian) before each frame. A socket pair stands in for the engine.
def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


async def channel_pair() -> tuple[RunnerChannel, asyncio.StreamReader, asyncio.StreamWriter]:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    engine_reader, engine_writer = await asyncio.open_connection(sock=theirs)
    return RunnerChannel(reader, writer), engine_reader, engine_writer


def test_replies_are_read_across_frames_with_stderr_interleaved() -> None:
    async def scenario() -> None:
        channel, engine_in, engine_out = await channel_pair()
        engine_out.write(frame(1, b'{"op":"rea') + frame(2, b"warming up\n") + frame(1, b'dy"}\n'))
        assert await asyncio.wait_for(channel.ready, 5) == {"op": "ready"}
        pending = asyncio.ensure_future(channel.request({"op": "call", "id": "c1", "params": [1]}, 5))
        assert json.loads(await asyncio.wait_for(engine_in.readline(), 5)) == {"op": "call", "id": "c1", "params": [1]}
        reply = b'{"ok":true,"result":"' + b"r" * 5000 + b'"}\n'
        engine_out.write(b"".join(frame(1, reply[i:i + 700]) for i in range(0, len(reply), 700)))
        assert (await asyncio.wait_for(pending, 5))["result"] == "r" * 5000
        assert channel.stderr_tail() == "warming up"  # stderr never reaches the reply
        channel.close()
        engine_out.close()

    asyncio.run(scenario())


def test_a_stream_that_ends_fails_the_call_with_a_bounded_stderr_tail() -> None:
    async def scenario() -> None:
        channel, engine_in, engine_out = await channel_pair()
        engine_out.write(frame(1, b'{"op":"ready"}\n'))
        await asyncio.wait_for(channel.ready, 5)
        pending = asyncio.ensure_future(channel.request({"op": "call", "id": "c1", "params": None}, 5))
        await asyncio.wait_for(engine_in.readline(), 5)
        for n in range(40):  # 40 KiB of stderr: only the last 8 KiB are kept
            engine_out.write(frame(2, b"%04d" % n + b"e" * 1020))
        engine_out.write(frame(2, b"MemoryError\n"))
        await engine_out.drain()
        engine_out.close()
        with pytest.raises(RunnerGone) as gone:
            await asyncio.wait_for(pending, 5)
        assert str(gone.value).endswith("MemoryError") and not gone.value.over_limit
        assert channel.closed and channel._stderr_size <= RunnerChannel.STDERR_TAIL
        with pytest.raises(RunnerGone):  # later calls fail at once
            await channel.request({"op": "call"}, 5)
        channel.close()

    asyncio.run(scenario())


def test_bad_json_from_the_runner_is_logged_and_ends_the_channel(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        channel, _engine_in, engine_out = await channel_pair()
        engine_out.write(frame(2, b"Traceback: boom\n") + frame(1, b"this is not json\n"))
        with pytest.raises(RunnerGone) as gone:
            await asyncio.wait_for(channel.ready, 5)
        assert str(gone.value) == "Traceback: boom" and not gone.value.over_limit  # stderr says why, as before
        assert channel.closed
        channel.close()
        engine_out.close()

    with caplog.at_level("WARNING", logger="faasctl_agent"):
        asyncio.run(scenario())
    assert any("not JSON" in r.getMessage() for r in caplog.records)
