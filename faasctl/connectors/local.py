"""The local connector: the node is this machine, reached without SSH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..errors import NodeUnreachable
from .base import Result


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
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(local, tmp)
        os.replace(tmp, target)
        return local.stat().st_size

    def close(self) -> None:
        pass
