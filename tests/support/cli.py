"""Run `faasctl ARGS` in this process (cli.main.run in its own Environment): what most CLI
tests need, without a new interpreter per command. Platform.cli uses it by default;
tests where the process boundary matters (start-up imports, signals, real pipes, several
processes at once) pass `process=True` there.

Each call is scoped as a process would be: its own os.environ and working folder, and
whatever the command opened is closed when it returns (the Contexts it made: agent
sockets, SSH sessions and tunnels, the state engine and fast-path connection). Threads it
started must have ended by then (bounded wait), or the call fails: nothing leaks into the
next call.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from faasctl.cli.environment import Environment
from faasctl.cli.main import run
from faasctl.core.context import Context

THREADS_WITHIN = 30.0  # seconds left to a command's threads (probes, tunnels) to end after it returns
_one_at_a_time = threading.Lock()  # os.environ, the working folder and sys's streams are the process's


def cli(*args: str, env: Mapping[str, str], check: bool = True, input: str = "", stdout_tty: bool = False,
        stderr_tty: bool = False, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The same result type as Platform.cli. `env` replaces os.environ for the call (the
    state's home is read from FAASCTL_HOME), then os.environ is restored; stdin is `input`."""
    out, err = io.StringIO(), io.StringIO()
    environment = Environment(stdout_stream=out, stderr_stream=err, stdin_stream=io.StringIO(input), environ=dict(env),
                              stdout_tty=stdout_tty, stderr_tty=stderr_tty, program="faasctl")
    if not _one_at_a_time.acquire(blocking=False):
        raise AssertionError(f"faasctl {' '.join(args)}: in-process CLI calls cannot overlap; "
                             "run concurrent ones with Platform.cli(..., process=True)")
    try:
        before = set(threading.enumerate())
        with _scoped(env, cwd), _interrupts() as interrupted:
            code = _status(args, environment)
        if interrupted:  # Ctrl-C was for the test run: the command's own handling must not swallow it
            raise KeyboardInterrupt
        _threads_ended(before, args)
    finally:
        _one_at_a_time.release()
    proc = subprocess.CompletedProcess(["faasctl", *args], code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"faasctl {' '.join(args)} exited {code}\n{proc.stdout}\n{proc.stderr}")
    return proc


def _status(args: tuple[str, ...], environment: Environment) -> int:
    """run()'s status; what the interpreter would do with an uncaught exception or sys.exit."""
    try:
        return run(list(args), environment)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or 0)
        print(exc.code, file=environment.stderr)
        return 1
    except Exception:  # noqa: BLE001  (a crash: traceback on stderr and status 1, as python does)
        environment.stderr.write(traceback.format_exc())
        return 1


@contextmanager
def _interrupts() -> Iterator[list[int]]:
    """Note a SIGINT that arrives during the call (still raised inside it, as python does)."""
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def noted(signum: int, frame: Any) -> None:
        seen.append(signum)
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, noted)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _scoped(env: Mapping[str, str], cwd: Path | None) -> Iterator[None]:
    """os.environ and the working folder for one call, and the Contexts it made, closed after."""
    made: list[Context] = []
    original = Context.__init__

    def recording(self: Context, *a: Any, **kw: Any) -> None:
        original(self, *a, **kw)
        made.append(self)

    previous = os.getcwd()
    with mock.patch.dict(os.environ, env, clear=True), mock.patch.object(Context, "__init__", recording):
        if cwd is not None:
            os.chdir(cwd)
        try:
            yield
        finally:
            os.chdir(previous)
            for ctx in made:
                _close(ctx)


def _close(ctx: Context) -> None:
    """What process exit does for a Context: its sockets, sessions and state connections."""
    ctx.close()
    opened = vars(ctx)  # cached_property keeps what was opened in the instance's dict
    if "engine" in opened:
        opened["engine"].dispose()
    if "fast" in opened:
        opened["fast"].close()


def _threads_ended(before: set[threading.Thread], args: tuple[str, ...]) -> None:
    deadline = time.monotonic() + THREADS_WITHIN
    for thread in set(threading.enumerate()) - before:
        thread.join(max(0.0, deadline - time.monotonic()))
    left = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
    if left:
        raise AssertionError(f"faasctl {' '.join(args)} left threads running: {sorted(left)}")
