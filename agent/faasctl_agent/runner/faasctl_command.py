"""Command mode in the runner: the seed's contract, a process per call.

The command gets the params as JSON on stdin; its stdout is the result and its stderr the
log, both bounded while they are read (a function that prints without end costs the
runner no memory), and a failure is named: the memory limit, a signal, or its own exit
status. Standard library only: it runs on whatever python3 the function's image has.
"""

import contextlib
import json
import os
import selectors
import signal
import subprocess

MIB = 1024 * 1024


def call(command, cwd, params, result_limit, log_limit):
    """One call: the reply's fields (ok, result, log, and error and cause on failure)."""
    oom_before = _oom_kills()
    code, out, err, over = _run_bounded(command, cwd, json.dumps(params).encode(), result_limit, log_limit)
    log = err.decode(errors="replace")
    result = out.decode(errors="replace").rstrip("\n")
    if over:
        return {"ok": False, "log": log, "cause": "output",
                "error": "output over its limit: the function printed more than %d MiB on stdout, "
                         "the result's limit; it was stopped" % (result_limit // MIB)}
    if code != 0:
        return {"ok": False, "log": log, "result": result, **_exit_cause(code, _oom_kills() > oom_before)}
    return {"ok": True, "result": result, "log": log}


def _run_bounded(command, cwd, data, result_limit, log_limit):
    """Run `command` with `data` on stdin; stdout kept up to result_limit (past that the
    command is killed), stderr up to log_limit (the rest read and dropped). Reading as it
    comes keeps the runner's memory bounded whatever the function prints."""
    proc = subprocess.Popen(command, shell=True, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    sel = selectors.DefaultSelector()
    kept = {"out": [], "err": []}
    size = {"out": 0, "err": 0}
    limit = {"out": result_limit, "err": log_limit}
    over = False
    pending = memoryview(data)
    os.set_blocking(proc.stdin.fileno(), False)
    sel.register(proc.stdin, selectors.EVENT_WRITE, "in")
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    while sel.get_map():  # ends when the command (and what it started) closes its pipes
        for key, _ in sel.select():
            if key.data == "in":
                try:
                    pending = pending[os.write(key.fd, pending[:65536]):]
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    pending = pending[:0]
                if not pending:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                continue
            chunk = os.read(key.fd, 1 << 20)
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            name = key.data
            room = limit[name] - size[name]
            if name == "out" and len(chunk) > room and not over:
                over = True
                _kill_group(proc.pid)
            if room > 0:
                kept[name].append(chunk[:room])
            size[name] += len(chunk)
    sel.close()
    code = proc.wait()
    return code, b"".join(kept["out"]), b"".join(kept["err"]), over


def _kill_group(pid):
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def _cgroup_value(v2_name, v1_path, key=None):
    """A number from this container's cgroup (v2 first, then v1); None if unreadable."""
    for path in ("/sys/fs/cgroup/" + v2_name, "/sys/fs/cgroup/memory/" + v1_path):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        if key is None:
            return int(text.strip()) if text.strip().isdigit() else None
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                return int(value)
    return None


def _oom_kills():
    return _cgroup_value("memory.events", "memory.oom_control", "oom_kill") or 0


def _exit_cause(code, oom):
    """Name why a command failed: the memory limit, a signal, or its own exit status."""
    signum = -code if code < 0 else (code - 128 if code > 128 else 0)
    if oom:
        limit = _cgroup_value("memory.max", "memory.limit_in_bytes")
        where = " of %d MiB" % (limit // MIB) if limit else ""
        return {"cause": "oom", "error": "out of memory: the function passed its memory limit%s and was killed "
                                         "(raise it with --memory)" % where}
    if code < 0 or signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV, signal.SIGABRT):
        try:
            what = signal.Signals(signum).name
        except ValueError:
            what = "signal %d" % signum
        return {"cause": "signal", "error": "command killed by %s (exit status %d)" % (what, code)}
    return {"cause": "exit", "error": "command exited with status %d" % code}
