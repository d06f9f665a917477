"""The connector interface and the step type that bootstrap plans are made of."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

STREAM_CHUNK = 1 << 16  # bytes per read/write of a stream: what bounds its memory


def venv_python(agent_home: str) -> str:
    """The agent's own Python on a bootstrapped node (bootstrap installs the venv there)."""
    return f"{agent_home}/venv/bin/python"


@dataclass(frozen=True)
class Step:
    """One idempotent thing to do on a node.

    `argv` runs on the node; a non-zero exit fails the step with `fail` as the message.
    With `capture`, the step's stdout (stripped) is kept under that name for the caller.
    """

    title: str
    argv: tuple[str, ...]
    fail: str = ""
    hint: str = ""
    capture: str = ""


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


class Connector(Protocol):
    name: str

    def run(self, argv: tuple[str, ...] | list[str], timeout: float = 300.0) -> Result: ...

    def put_file(self, local: Path, remote: str) -> int:
        """Place `local` at `remote` atomically; returns bytes actually sent."""
        ...

    def stream_out(self, argv: tuple[str, ...] | list[str], timeout: float = 1800.0) -> Iterator[bytes]:
        """Run argv and yield its stdout in chunks as it comes (`docker save` on a node).

        A non-zero exit raises FaasctlError after the last chunk, with the command's stderr.
        """
        ...

    def stream_in(self, argv: tuple[str, ...] | list[str], chunks: Iterable[bytes],
                  timeout: float = 1800.0) -> Result:
        """Run argv with `chunks` written to its stdin as they come (`docker load` on a node)."""
        ...

    def agent_python(self, agent_home: str) -> str:
        """The Python that has faasctl_agent (and the Docker SDK) on this node."""
        ...

    def endpoint(self, zmq_endpoint: str) -> str:
        """The address this process dials for the agent bound at `zmq_endpoint` on the node."""
        ...

    def close(self) -> None: ...
