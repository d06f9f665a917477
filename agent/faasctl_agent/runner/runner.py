"""faasctl in-container runner: the seed's "mini-worker".

Runs inside every function container with nothing but the Python standard library, so
any image with `python3` can serve functions. It speaks newline-delimited JSON with the
agent over the container's stdin and stdout, one call at a time, and stays up between
calls: that is what makes a warm call cost a pipe round trip instead of a container.

Messages in:  {"op": "init", "mode": "handler"|"command", "path", "handler", "run"}
              (a stem cell's init also carries "code"/"deps": base64 tars unpacked as
              root, root-owned, before the runner drops to "user" for good)
              {"op": "call", "id", "params"}
Messages out: {"op": "ready"} once, then one reply per message in.
"""

import base64
import io
import json
import os
import subprocess
import sys
import time
import traceback

LOG_LIMIT = 64 * 1024


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


def _as_result(value):
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class Runner:
    def __init__(self, out):
        self.out = out
        self.mode = None
        self.path = "."
        self.run = ""
        self.fn = None

    def send(self, msg):
        self.out.write(json.dumps(msg, separators=(",", ":")) + "\n")
        self.out.flush()

    def init(self, msg):
        if os.getuid() == 0:
            self._unpack_and_drop(msg)
        self.mode = msg.get("mode", "command")
        self.path = msg.get("path") or "."
        self.run = msg.get("run") or ""
        os.chdir(self.path)
        import importlib

        importlib.invalidate_caches()  # a stem cell's code and deps arrived after start
        if self.mode == "handler":
            module_name, _, attr = (msg.get("handler") or "main:handle").partition(":")
            sys.path.insert(0, self.path)
            module = importlib.import_module(module_name)
            self.fn = getattr(module, attr or "handle")
        return {"ok": True}

    def _unpack_and_drop(self, msg):
        """Stem cell: place code and deps (root-owned, so read-only to the function), then
        become the unprivileged user; from here on no capability is left."""
        import tarfile

        for key, target in (("code", msg.get("path") or "."), ("deps", "/deps")):
            if msg.get(key):
                with tarfile.open(fileobj=io.BytesIO(base64.b64decode(msg[key]))) as tf:
                    tf.extractall(target)  # the agent checked and normalised these entries
        uid, _, gid = str(msg.get("user") or "65534:65534").partition(":")
        os.setgroups([])
        os.setgid(int(gid or uid))
        os.setuid(int(uid))

    def call(self, msg):
        params = msg.get("params")
        if self.mode == "handler":
            return self._call_handler(params)
        return self._call_command(params)

    def _call_handler(self, params):
        log = _BoundedLog()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = log
        try:
            value = self.fn(params)
            return {"ok": True, "result": _as_result(value), "log": log.value()}
        except Exception:
            return {"ok": False, "error": traceback.format_exc(limit=-8), "log": log.value()}
        finally:
            sys.stdout, sys.stderr = saved

    def _call_command(self, params):
        proc = subprocess.run(
            self.run,
            shell=True,
            cwd=self.path,
            input=json.dumps(params).encode(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        log = proc.stderr[:LOG_LIMIT].decode(errors="replace")
        result = proc.stdout.decode(errors="replace").rstrip("\n")
        if proc.returncode != 0:
            error = "command exited with status %d" % proc.returncode
            return {"ok": False, "error": error, "log": log, "result": result}
        return {"ok": True, "result": result, "log": log}


def main():
    # The protocol owns the real stdout; anything the function prints lands on stderr.
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    runner = Runner(out)
    runner.send({"op": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            return
        started = time.perf_counter()
        msg = {}
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
        runner.send(reply)


if __name__ == "__main__":
    main()
