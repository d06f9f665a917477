"""Newline framing of the runner's replies, in time linear in the bytes received.

A reply of tens of megabytes arrives in many attach frames. Joining each frame onto a
buffer and searching the whole buffer again costs time quadratic in the reply's size
(a 50 MB result took half a minute and slowed every other call meanwhile). Here each
byte is searched exactly once and kept once, in a list of pieces joined at the newline.
"""

from __future__ import annotations

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
