"""A real `faasctl serve` process for API tests: started on a free loopback port with the
platform's FAASCTL_HOME, waited for (bounded), stopped after. Plus a state-file dump to
prove that refused requests change nothing."""

from __future__ import annotations

import io
import json
import socket
import sqlite3
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from faasctl_agent.protocol import FINAL

from tests.support.platform import FAASCTL, REPO, Platform

START_TIMEOUT = 30.0


@dataclass
class ApiServer:
    url: str
    proc: subprocess.Popen[str]
    log: Path
    token: str = ""

    def client(self, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kwargs)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(platform: Platform, *args: str, token: str = "", env: dict[str, str] | None = None) -> Iterator[ApiServer]:
    port = free_port()
    log = platform.home / f"serve-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*FAASCTL, "serve", "--port", str(port), "--log-level", "warning", *args],
                                env=env or platform.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True)
    server = ApiServer(f"http://127.0.0.1:{port}", proc, log, token)
    try:
        wait_ready(server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_ready(server: ApiServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"faasctl serve exited {server.proc.returncode}:\n{server.log.read_text()}")
        try:
            httpx.get(f"{server.url}/openapi.json", timeout=2)  # any answer (even 401) means it is up
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"faasctl serve did not answer within {START_TIMEOUT:g} s:\n{server.log.read_text()}")


def dump_state(platform: Platform) -> str:
    """Every table of the state file as SQL text: equal dumps mean nothing changed."""
    conn = sqlite3.connect(platform.home / "state.db")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def tar_gz(folder: Path) -> bytes:
    """A .tar.gz of a folder's contents at the archive's root, as the seed's example upload."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for path in sorted(folder.iterdir()):
            if path.name != "__pycache__":
                tf.add(path, arcname=path.name)
    return buf.getvalue()


def python_image(platform: Platform) -> str:
    rows = json.loads(platform.cli("runtime", "list", "--json").stdout)
    return next(r["image"] for r in rows if r["name"] == "python")




def poll_call(client: httpx.Client, path: str, attempts: int = 300) -> dict:
    """GET a call until it is finished; bounded (about a minute)."""
    call: dict = {}
    for _ in range(attempts):
        resp = client.get(path)
        assert resp.status_code == 200, resp.text
        call = resp.json()
        if call["status"] in FINAL:
            return call
        time.sleep(0.2)
    raise AssertionError(f"{path} still {call.get('status')} after {attempts} polls: {call}")


def four_dice(result: str) -> bool:
    dice = json.loads(result)
    return isinstance(dice, list) and len(dice) == 4 and all(isinstance(d, int) and 1 <= d <= 6 for d in dice)
