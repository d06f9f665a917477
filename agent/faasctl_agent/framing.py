"""Newline framing of the runner's replies, in time linear in the bytes received.

A reply of tens of megabytes arrives in many attach frames. Joining each frame onto a
buffer and searching the whole buffer again costs time quadratic in the reply's size
(a 50 MB result took half a minute and slowed every other call meanwhile). Here each
byte is searched exactly once and kept once, in a list of pieces joined at the newline.

A runner asked for it ("raw" in the call) sends a large result as a header line with
"result_bytes": N followed by N raw bytes (runner.py); `ReplyFramer` reads both kinds,
so a runner that only writes JSON lines (runner.js, an older runner.py) still works.
"""

from __future__ import annotations

import json
from typing import Any

# The largest reply line the agent accepts from a runner: the result limit plus room for
# the log and the envelope. The runner refuses bigger results itself with a clear error;
# this bound is the agent's own guard against a runner that does not.
RESULT_LIMIT = 32 * 1024 * 1024
MAX_LINE = RESULT_LIMIT + 1024 * 1024


class LineTooLong(ValueError):
    """A reply line grew past MAX_LINE without its newline."""


class LineFramer:
    def __init__(self, limit: int = MAX_LINE) -> None:
        self.limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self.scanned = 0  # bytes searched for a newline, for tests of the linear bound

    def feed(self, data: bytes) -> list[bytes]:
        """The complete lines `data` ends (without newlines); keeps the unfinished rest."""
        lines: list[bytes] = []
        start = 0
        end = len(data)
        while start < end:
            nl = data.find(b"\n", start)
            stop = end if nl < 0 else nl
            self.scanned += stop - start + (nl >= 0)
            if self._size + stop - start > self.limit:
                raise LineTooLong(f"a reply line passed {self.limit} bytes")
            if nl < 0:
                self._parts.append(data[start:])
                self._size += end - start
                break
            if self._parts:
                self._parts.append(data[start:nl])
                lines.append(b"".join(self._parts))
                self._parts, self._size = [], 0
            else:
                lines.append(data[start:nl])
            start = nl + 1
        return lines

    @property
    def pending(self) -> int:
        return self._size


class ReplyFramer:
    """The runner's messages, decoded, from the bytes of its pipe: JSON lines, each maybe
    followed by the raw result its "result_bytes" announces. Raises LineTooLong past the
    limit and ValueError for what is not JSON (or a raw result that is not UTF-8)."""

    def __init__(self, limit: int = MAX_LINE) -> None:
        self.limit = limit
        self._lines = LineFramer(limit)
        self._header: dict[str, Any] | None = None  # waiting for its raw result
        self._need = 0
        self._parts: list[bytes] = []

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        pos, end = 0, len(data)
        while pos < end:
            if self._header is not None:
                take = min(self._need, end - pos)
                self._parts.append(data[pos:pos + take] if take < end - pos or pos else data)
                pos += take
                self._need -= take
                if not self._need:
                    messages.append(self._finish())
                continue
            nl = data.find(b"\n", pos)
            if nl < 0:
                self._lines.feed(data[pos:] if pos else data)
                break
            for line in self._lines.feed(data[pos:nl + 1]):  # exactly one line
                messages += self._message(json.loads(line))
            pos = nl + 1
        return messages

    def _message(self, msg: Any) -> list[dict[str, Any]]:
        if not isinstance(msg, dict):
            raise ValueError("a runner message must be a JSON object")
        size = msg.get("result_bytes")  # kept in the message: the agent counts raw results
        if size is None:
            return [msg]
        if not isinstance(size, int) or not 0 <= size <= self.limit:
            raise LineTooLong(f"a raw result of {size!r} bytes is over the limit of {self.limit} bytes")
        self._header, self._need = msg, size
        return [] if size else [self._finish()]

    def _finish(self) -> dict[str, Any]:
        msg, parts = self._header, self._parts
        assert msg is not None
        self._header, self._parts = None, []
        msg["result"] = (parts[0] if len(parts) == 1 else b"".join(parts)).decode("utf-8") if parts else ""
        return msg

    @property
    def pending(self) -> int:
        return self._lines.pending + sum(len(p) for p in self._parts)
