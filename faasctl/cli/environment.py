"""The CLI's view of its surroundings (as httpie's Environment): output streams, whether
they are terminals, colour, environment variables. Commands and renderers read `current()`
instead of `sys`/`os`, so a test runs the CLI in process with its own streams and
variables (tests/support/cli.py) and no subprocess."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TextIO


@dataclass
class Environment:
    """Streams left None are the process's own, looked up when used (tests swap them)."""

    stdout_stream: TextIO | None = None
    stdin_stream: TextIO | None = None
    stderr_stream: TextIO | None = None
    environ: Mapping[str, str] | None = None
    stdout_tty: bool | None = None  # None: ask the stream
    stderr_tty: bool | None = None
    program: str | None = None  # the name usage lines show; None: click's guess from sys.argv

    @property
    def stdin(self) -> TextIO:
        return self.stdin_stream or sys.stdin

    @property
    def stdout(self) -> TextIO:
        return self.stdout_stream or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self.stderr_stream or sys.stderr

    @property
    def env(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ

    @property
    def stdout_isatty(self) -> bool:
        return _isatty(self.stdout) if self.stdout_tty is None else self.stdout_tty

    @property
    def stderr_isatty(self) -> bool:
        return _isatty(self.stderr) if self.stderr_tty is None else self.stderr_tty

    @property
    def colour(self) -> bool:
        """Colour only for a person at a terminal: no NO_COLOR, no TERM=dumb."""
        return self.stderr_isatty and "NO_COLOR" not in self.env and self.env.get("TERM") != "dumb"

    @property
    def progress_bars(self) -> bool:
        """Live bars on a terminal, whole lines otherwise; FAASCTL_PROGRESS=bars|lines decides."""
        forced = self.env.get("FAASCTL_PROGRESS", "").strip().lower()
        if forced in ("bars", "lines"):
            return forced == "bars"
        return self.stderr_isatty and self.env.get("TERM") != "dumb"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a file
        return False


_current: ContextVar[Environment | None] = ContextVar("faasctl_cli_environment", default=None)


def current() -> Environment:
    return _current.get() or Environment()


@contextmanager
def using(env: Environment) -> Iterator[Environment]:
    """Run the CLI inside `env`: `current()` is it, and plain prints and reads use its streams."""
    token, stdin = _current.set(env), sys.stdin
    try:
        with redirect_stdout(env.stdout), redirect_stderr(env.stderr):
            sys.stdin = env.stdin
            yield env
    finally:
        sys.stdin = stdin
        _current.reset(token)
