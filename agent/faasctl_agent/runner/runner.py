"""faasctl in-container runner: the seed's "mini-worker".

Runs inside every function container with nothing but the Python standard library, so
any image with `python3` can serve functions. It speaks newline-delimited JSON with the
agent over the container's stdin and stdout, one call at a time, and stays up between
calls: that is what makes a warm call cost a pipe round trip instead of a container.

Messages in:  {"op": "init", "mode": "handler"|"command", "path", "handler", "run",
               "kind", "function": {"name", "version", "memory_mb", "timeout"}}
              (a stem cell's init also carries "code"/"deps": base64 tars unpacked as
              root, root-owned, before the runner drops to "user" for good)
              (optional "env": {NAME: value}, set before the function loads; "secrets":
              {name: base64 value}, written as root under SECRETS_DIR before the drop)
              {"op": "call", "id", "params", "deadline", "http"?, "raw"?}
Handler kinds (Lambda, OpenWhisk, OpenFaaS) live in faasctl_kinds.py beside this file;
command mode (a process per call, bounded output, exit causes) in faasctl_command.py.
Messages out: {"op": "ready"} once, then one reply per message in. A call that says
"raw" (the agent's framing.ReplyFramer reads it) gets a result of RAW_MIN bytes or more
as a header line {"result_bytes": N, ...} followed by the result's N UTF-8 bytes, so
neither side escapes nor parses megabytes of JSON; other replies are one JSON line.
The lines go over the agent's Unix socket when the agent mounted one (FAASCTL_SOCKET),
else over stdin and stdout.
"""

import base64
import io
import json
import os
import socket
import sys
import time
import traceback

LOG_LIMIT = 64 * 1024
# The largest reply line (the result, JSON-encoded, with its log): the agent's framing
# (faasctl_agent/framing.py RESULT_LIMIT) keeps the same figure.
RESULT_LIMIT = 32 * 1024 * 1024
MIB = 1024 * 1024
RAW_MIN = 64 * 1024  # smaller results stay inside the JSON line: one write, one parse
SECRETS_DIR = "/var/run/secrets/faasctl"  # a tmpfs (faasctl_agent.fnconfig keeps the same path)


class _BoundedLog(io.TextIOBase):
    """Captures what a handler prints, up to LOG_LIMIT characters."""

    def __init__(self):
        self.parts = []
        self.size = 0

    def writable(self):
        return True

    def write(self, text):
        room = LOG_LIMIT - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        return len(text)

    def value(self):
        return "".join(self.parts)


class Runner:
    def __init__(self, out):
        self.out = out
        self.mode = None
        self.path = "."
        self.run = ""
        self.fn = None

    def send(self, msg, raw=False):
        if raw and self._send_raw(msg):
            return
        line = json.dumps(msg, separators=(",", ":"))
        if len(line) > RESULT_LIMIT:  # counted in characters: the same as bytes for ASCII JSON
            line = self._over_limit(msg, len(line))
        self.out.write(line + "\n")
        self.out.flush()

    def _send_raw(self, msg):
        """A large string result as raw bytes after a header line; False: send a JSON line."""
        result = msg.get("result")
        if not isinstance(result, str) or len(result) < RAW_MIN:
            return False
        try:
            data = result.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: only JSON's escapes carry it
            return False
        fields = dict((k, v) for k, v in msg.items() if k != "result")
        fields["result_bytes"] = len(data)
        header = json.dumps(fields, separators=(",", ":"))
        if len(header) + len(data) > RESULT_LIMIT:
            self.out.write(self._over_limit(msg, len(header) + len(data)) + "\n")
            self.out.flush()
            return True
        self.out.write(header + "\n")
        self.out.flush()
        self.out.buffer.write(data)  # straight to the socket: a write this large skips the buffer
        self.out.buffer.flush()
        return True

    @staticmethod
    def _over_limit(msg, size):
        return json.dumps({"id": msg.get("id"), "ms": msg.get("ms"), "ok": False, "cause": "result",
                           "log": str(msg.get("log", ""))[:LOG_LIMIT],
                           "error": "result over its limit: the reply is %d bytes, the limit is %d MiB"
                                    % (size, RESULT_LIMIT // MIB)}, separators=(",", ":"))

    def init(self, msg):
        if os.getuid() == 0:
            self._unpack_and_drop(msg)
        elif msg.get("secrets"):
            raise RuntimeError("secrets need a container started as root to place them; redeploy the function")
        os.environ.update(msg.get("env") or {})  # issue 13: before the handler module is imported
        self.mode = msg.get("mode", "command")
        self.path = msg.get("path") or "."
        self.run = msg.get("run") or ""
        os.chdir(self.path)
        import importlib

        importlib.invalidate_caches()  # a stem cell's code and deps arrived after start
        if self.mode == "handler":
            import faasctl_kinds  # beside this file, in the runner volume

            self.fn = faasctl_kinds.load(dict(msg, handler=msg.get("handler") or "main:handle"))
        return {"ok": True}

    def _unpack_and_drop(self, msg):
        """Stem cell: place code and deps (root-owned, so read-only to the function), then
        become the unprivileged user; from here on no capability is left."""
        import tarfile

        for key, target in (("code", msg.get("path") or "."), ("deps", "/deps")):
            if msg.get(key):
                with tarfile.open(fileobj=io.BytesIO(base64.b64decode(msg[key]))) as tf:
                    # the agent checked and normalised these entries; where the Python has
                    # them (3.12, and 3.8+ security releases), tarfile's own checks as well
                    if hasattr(tarfile, "data_filter"):
                        tf.extractall(target, filter="data")
                    else:
                        tf.extractall(target)
        uid, _, gid = str(msg.get("user") or "65534:65534").partition(":")
        os.setgroups([])
        os.setgid(int(gid or uid))
        _place_secrets(msg.get("secrets") or {})  # still root, already in the function's group
        os.setuid(int(uid))

    def call(self, msg):
        params = msg.get("params")
        if self.mode == "handler":
            return self._call_handler(params, msg)
        return self._call_command(params)

    def _call_handler(self, params, msg):
        log = _BoundedLog()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = log
        try:
            return {"ok": True, "result": self.fn.invoke(params, msg), "log": log.value()}
        except Exception:
            return {"ok": False, "error": self.fn.error(msg), "log": log.value()}
        finally:
            sys.stdout, sys.stderr = saved

    def _call_command(self, params):
        import faasctl_command  # beside this file, in the runner volume

        return faasctl_command.call(self.run, self.path, params, RESULT_LIMIT, LOG_LIMIT)


def _place_secrets(secrets):
    """Write each secret as SECRETS_DIR/NAME, owned by root and the function's group, mode
    0440: the function can read it but neither change, chmod nor remove it; the folder is
    0750 root:group on a tmpfs, so no value ever touches a disk."""
    for name, value in secrets.items():
        if not name or "/" in name or name.startswith("."):
            raise ValueError("bad secret name %r" % (name,))
        fd = os.open(os.path.join(SECRETS_DIR, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o440)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(fd, 0o440)  # whatever the umask
            out.write(base64.b64decode(value))


def _agent_socket():
    """The agent's socket in its read-only folder (FAASCTL_SOCKET), connected before any
    privilege is dropped; None when there is none or it cannot be reached: stdin and
    stdout (Docker's attach stream) then carry the protocol, as they always could."""
    path = os.environ.get("FAASCTL_SOCKET")
    if not path:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(10)
        sock.connect(path)
        sock.settimeout(None)
    except OSError:
        sock.close()
        return None
    return sock


def main():
    # The protocol owns the real stdout (or the agent's socket); anything the function
    # prints lands on stderr.
    sock = _agent_socket()
    if sock is not None:
        out = sock.makefile("w", encoding="utf-8", newline="\n")
        stdin = sock.makefile("rb")
    else:
        out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
        stdin = sys.stdin.buffer
    os.dup2(2, 1)
    runner = Runner(out)
    runner.send({"op": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    while True:
        line = stdin.readline()
        if not line:
            return
        started = time.perf_counter()
        msg, op = {}, None
        try:
            msg = json.loads(line)
            op = msg.get("op")
            if op == "call":
                reply = runner.call(msg)
            elif op == "init":
                reply = runner.init(msg)
            else:
                reply = {"ok": False, "error": "unknown op %r" % (op,)}
        except Exception:
            msg = msg if isinstance(msg, dict) else {}
            reply = {"ok": False, "error": traceback.format_exc(limit=-8)}
        reply["id"] = msg.get("id")
        reply["ms"] = round((time.perf_counter() - started) * 1000, 3)
        runner.send(reply, raw=op == "call" and bool(msg.get("raw")))


if __name__ == "__main__":
    main()
