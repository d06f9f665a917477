"""Streaming a command's stdin or stdout over an SSH channel, a chunk at a time.

Used to carry an image between Docker engines (`docker save` on one side, `docker load`
on the other) without a registry or a temporary file. Memory stays bounded: one chunk
in hand, paramiko's channel window in flight, and only the tail of the command's own
output kept for its error message. Errors are converted here, at the boundary.
"""

from __future__ import annotations

import select
import time
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import NodeSetupFailed, NodeUnreachable
from .base import STREAM_CHUNK, Result

STREAM_IDLE = 300.0  # a stream that moves no byte for this long is broken
EXIT_WAIT = 30.0  # the exit status follows the end of the output; this is generous
KEEP = 1 << 16  # bytes of the command's own stdout/stderr kept


def _tail(buf: bytes, more: bytes) -> bytes:
    return (buf + more)[-KEEP:]


def _last_line(data: bytes) -> str:
    lines = data.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(no output on stderr)"


def read_stdout(chan: Any, what: str, timeout: float) -> Iterator[bytes]:
    """Yield the command's stdout as it arrives; raise after the last chunk if it failed."""
    import paramiko

    deadline, err, code = time.monotonic() + timeout, b"", -1
    try:
        chan.settimeout(STREAM_IDLE)
        chan.shutdown_write()
        while data := chan.recv(STREAM_CHUNK):
            yield data
            while chan.recv_stderr_ready():
                err = _tail(err, chan.recv_stderr(STREAM_CHUNK))
            if time.monotonic() > deadline:
                raise TimeoutError
        if not chan.status_event.wait(EXIT_WAIT):
            raise TimeoutError
        code = chan.recv_exit_status()
        while chan.recv_stderr_ready():
            err = _tail(err, chan.recv_stderr(STREAM_CHUNK))
    except TimeoutError as exc:
        raise NodeUnreachable(f"{what} stalled or ran past {timeout:g} s") from exc
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise NodeUnreachable(f"{what}: the SSH session broke mid-stream ({exc})",
                              "check the node's network and sshd") from exc
    finally:
        chan.close()
    if code != 0:
        raise NodeSetupFailed(f"{what} exited {code}: {_last_line(err)}")


def write_stdin(chan: Any, what: str, chunks: Iterable[bytes], timeout: float) -> Result:
    """Send chunks to the command's stdin as they come, reading its output meanwhile."""
    import paramiko

    deadline, out, err = time.monotonic() + timeout, b"", b""
    try:
        chan.settimeout(STREAM_IDLE)
        try:
            for chunk in chunks:
                chan.sendall(chunk)
                while chan.recv_ready():
                    out = _tail(out, chan.recv(STREAM_CHUNK))
                while chan.recv_stderr_ready():
                    err = _tail(err, chan.recv_stderr(STREAM_CHUNK))
                if time.monotonic() > deadline:
                    raise TimeoutError
        except OSError:
            if not chan.exit_status_ready():  # anything but "the command ended early" is a failure
                raise
        chan.shutdown_write()
        more_out, more_err = drain(chan, max(1.0, deadline - time.monotonic()))
        code = chan.recv_exit_status()
    except TimeoutError as exc:
        raise NodeUnreachable(f"{what} stalled or ran past {timeout:g} s") from exc
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise NodeUnreachable(f"{what}: the SSH session broke mid-stream ({exc})",
                              "check the node's network and sshd") from exc
    finally:
        chan.close()
    return Result(code, _tail(out, more_out).decode(errors="replace"), _tail(err, more_err).decode(errors="replace"))


def drain(chan: Any, timeout: float) -> tuple[bytes, bytes]:
    """Read both streams until the command exits, so neither fills its window and stalls."""
    out, err = bytearray(), bytearray()
    deadline = time.monotonic() + timeout
    while True:
        busy = False
        while chan.recv_ready():
            out += chan.recv(STREAM_CHUNK)
            busy = True
        while chan.recv_stderr_ready():
            err += chan.recv_stderr(STREAM_CHUNK)
            busy = True
        # exit-status arrives after the data it follows, so empty buffers now mean done
        if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
            return bytes(out), bytes(err)
        if time.monotonic() > deadline:
            chan.close()
            raise TimeoutError
        if not busy:
            try:
                select.select([chan], [], [], 0.2)
            except (OSError, ValueError):
                time.sleep(0.05)
