"""The local connector: the node is this machine, reached without SSH."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import NodeSetupFailed, NodeUnreachable
from .base import STREAM_CHUNK, Result

KIND = "local"


def for_node(node: Mapping[str, Any], home: Path) -> LocalConnector:
    """The registry's entry point (see connectors/__init__.py)."""
    return LocalConnector(node["name"])


class LocalConnector:
    def __init__(self, name: str = "local") -> None:
        self.name = name

    def run(self, argv: tuple[str, ...] | list[str], timeout: float = 300.0) -> Result:
        try:
            proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError as exc:
            return Result(127, "", str(exc))
        except subprocess.TimeoutExpired as exc:
            raise NodeUnreachable(f"{argv[0]} on node {self.name} did not finish within {timeout:g} s") from exc
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def put_file(self, local: Path, remote: str) -> int:
        target = Path(remote)
        if target.exists() and target.stat().st_size == local.stat().st_size:
            return 0  # content-addressed names: same name and size is the same file
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)  # a half-copied file must not stay behind
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise NodeSetupFailed(f"node {self.name}: {'no space left' if full else 'cannot write'} to store "
                                  f"{target.name} in {target.parent} ({exc.strerror})",
                                  "free disk space there" if full else "check the agent home's permissions") from exc
        return local.stat().st_size

    def stream_out(self, argv: tuple[str, ...] | list[str], timeout: float = 1800.0) -> Iterator[bytes]:
        # stderr goes to a file: a pipe nobody reads could fill and stall the command
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
            killer = threading.Timer(timeout, proc.kill)  # bounds a command that hangs mid-stream
            killer.start()
            try:
                assert proc.stdout is not None
                while chunk := proc.stdout.read(STREAM_CHUNK):
                    yield chunk
                code = proc.wait()
            finally:
                killer.cancel()
                if proc.poll() is None:  # the consumer stopped early
                    proc.kill()
                    proc.wait()
            err.seek(0)
            if code != 0:
                raise NodeSetupFailed(f"{argv[0]} on node {self.name} exited {code}: {_last_line(err.read())}")

    def stream_in(self, argv: tuple[str, ...] | list[str], chunks: Iterable[bytes],
                  timeout: float = 1800.0) -> Result:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=out, stderr=err)
            killer = threading.Timer(timeout, proc.kill)
            killer.start()
            try:
                assert proc.stdin is not None
                try:
                    for chunk in chunks:
                        proc.stdin.write(chunk)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass  # the command ended early; its exit code and stderr say why
                code = proc.wait()
            finally:
                killer.cancel()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            out.seek(0)
            err.seek(0)
            return Result(code, out.read().decode(errors="replace"), err.read().decode(errors="replace"))

    def agent_python(self, agent_home: str) -> str:
        return sys.executable  # the local agent runs in faasctl's own environment

    def endpoint(self, zmq_endpoint: str) -> str:
        return zmq_endpoint

    def close(self) -> None:
        pass


def _last_line(data: bytes) -> str:
    lines = data.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(no output on stderr)"
