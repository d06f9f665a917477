"""A real one-node platform for integration tests: a local agent and the Python runtime.

Built once per test session (about 3 s) under a temporary FAASCTL_HOME; tests deploy
functions with names of their own so they do not see each other's state.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FAASCTL = [sys.executable, "-m", "faasctl"]


@dataclass
class Platform:
    home: Path
    env: dict[str, str]

    def cli(self, *args: str, check: bool = True, input: str | None = None,
            timeout: float = 600, process: bool = False) -> subprocess.CompletedProcess[str]:
        """Run `faasctl ARGS` in this process (tests/support/cli.py), stdin `input` or empty.

        `process=True` runs it as a user would, in a new interpreter (stdin /dev/null unless
        `input`; `timeout` applies there only): for tests where the process boundary matters.
        """
        if not process:
            from tests.support.cli import cli

            return cli(*args, env=self.env, check=check, input=input or "", cwd=REPO)
        proc = subprocess.run([*FAASCTL, *args], env=self.env, cwd=REPO, capture_output=True, text=True,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"faasctl {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def scope(self, node: str = "local") -> str:
        """The agent's unique label scope: filters containers to this test platform's own."""
        config = json.loads((self.home / "nodes" / node / "agent.json").read_text())
        return str(config.get("instance") or node)

    def containers(self, docker: Any, function: str, node: str = "local") -> list[dict[str, Any]]:
        """This platform's containers of one function (one listing call, no inspect races)."""
        labels = [f"faasctl.function={function}", f"faasctl.node={self.scope(node)}"]
        return list(docker.api.containers(all=True, filters={"label": labels}))

    def context(self) -> Any:
        from faasctl.config import Settings
        from faasctl.core.context import Context

        return Context(Settings(home=self.home))


def docker_client() -> Any:
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"the Docker engine is not reachable ({exc}); run scripts/setup.sh first")
    return client


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    docker_client()
    home = tmp_path_factory.mktemp("faasctl-home")
    env = {**os.environ, "FAASCTL_HOME": str(home)}
    plat = Platform(home, env)
    plat.cli("node", "add", "local")
    plat.cli("runtime", "add", "python", "--from", "runtimes/python")
    yield plat
    plat.cli("node", "rm", "local", check=False)


@contextlib.contextmanager
def local_nodes(home: Path, names: tuple[str, ...] = ("n1", "n2"),
                extra: tuple[str, ...] = ()) -> Iterator[Platform]:
    """Several agents on this machine under one state file, with the python runtime;
    removed at the end, with any of `extra` a test added."""
    docker_client()
    plat = Platform(home, {**os.environ, "FAASCTL_HOME": str(home)})
    from faasctl.core import nodes

    ctx = plat.context()
    for name in names:
        nodes.add_local(ctx, name)
    plat.cli("runtime", "add", "python", "--from", "runtimes/python")
    try:
        yield plat
    finally:
        for name in names + extra:
            with contextlib.suppress(Exception):  # best-effort clean-up
                nodes.remove(plat.context(), name)


@pytest.fixture
def docker() -> Any:
    return docker_client()
