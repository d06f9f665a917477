"""Run `faasctl ARGS` in this process (cli.main.run in its own Environment): what most CLI
tests need, without a new interpreter per command. Tests where the process boundary
matters (start-up imports, signals, several processes at once) keep Platform.cli."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Mapping
from unittest import mock

from faasctl.cli.environment import Environment
from faasctl.cli.main import run


def cli(*args: str, env: Mapping[str, str], check: bool = True, input: str = "",
        stdout_tty: bool = False, stderr_tty: bool = False) -> subprocess.CompletedProcess[str]:
    """The same result type as Platform.cli. `env` replaces os.environ for the call (the
    state's home is read from FAASCTL_HOME), then os.environ is restored; stdin is `input`."""
    out, err = io.StringIO(), io.StringIO()
    environment = Environment(stdout_stream=out, stderr_stream=err, stdin_stream=io.StringIO(input), environ=dict(env),
                              stdout_tty=stdout_tty, stderr_tty=stderr_tty)
    with mock.patch.dict(os.environ, env, clear=True):
        code = run(list(args), environment)
    proc = subprocess.CompletedProcess(["faasctl", *args], code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"faasctl {' '.join(args)} exited {code}\n{proc.stdout}\n{proc.stderr}")
    return proc
