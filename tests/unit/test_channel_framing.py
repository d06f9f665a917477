"""Reply framing: each byte searched once, however the reply is cut into frames (issue 9, item 8)."""

from __future__ import annotations

import pytest
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
