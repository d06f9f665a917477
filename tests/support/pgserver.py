"""A throwaway PostgreSQL server from Debian's binaries, for the state suite on PostgreSQL.

One server per test session (initdb in a temporary folder, loopback only, a free port)
and a fresh database per test, so tests stay independent without paying a cluster each.
initdb refuses to run as root, and CI runs as root: the cluster then belongs to the
`postgres` user Debian's package makes (or `nobody`), and both programs are started as
that user directly, so signals reach the server itself.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

START_TIMEOUT_S = 30.0
_HINT = "run scripts/setup.sh (or apt-get install postgresql)"


def bindir() -> Path:
    """Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/N/bin."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise RuntimeError(f"PostgreSQL server binaries (initdb, postgres) not found: {_HINT}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _owner() -> str | None:
    """The user the cluster runs as when we are root; None runs it as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither 'postgres' nor 'nobody' exists to own the test cluster")


@dataclass
class PgServer:
    """A running server; `database()` hands out a fresh, empty database by URL."""

    root: Path
    port: int
    proc: subprocess.Popen[bytes]
    user: str = "faasctl"
    _names: count[int] = field(default_factory=lambda: count(1))

    def dsn(self, db: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={db}"

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{db}"

    def database(self) -> str:
        """CREATE DATABASE from template0, named so a failing test's leftovers read clearly."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast" shutdown: ends sessions, checkpoints
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start(max_connections: int = 200) -> PgServer:
    """initdb, then `postgres` on 127.0.0.1 only (its Unix socket in the temporary folder),
    waiting until it accepts a connection."""
    import psycopg

    bins = bindir()
    root = Path(tempfile.mkdtemp(prefix="faasctl-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    owner = _owner()
    as_owner: dict[str, object] = {}
    if owner is not None:
        entry = pwd.getpwnam(owner)
        os.chmod(root, 0o755)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chown(sock, entry.pw_uid, entry.pw_gid)
        as_owner = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "cwd": root}
    subprocess.run([str(bins / "initdb"), "-D", str(data), "-U", "faasctl", "-A", "trust",
                    "-E", "UTF8", "--no-sync", "--no-instructions"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **as_owner)  # type: ignore[call-overload]
    port = _free_port()
    with open(root / "server.log", "wb") as log:  # the child keeps its own copy of the fd
        proc = subprocess.Popen([str(bins / "postgres"), "-D", str(data), "-p", str(port),
                                 "-h", "127.0.0.1", "-k", str(sock), "-c", f"max_connections={max_connections}"],
                                stdout=subprocess.DEVNULL, stderr=log, **as_owner)  # type: ignore[call-overload]
    server = PgServer(root=root, port=port, proc=proc)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            tail = (root / "server.log").read_text(errors="replace")[-2000:]
            server.stop()
            raise RuntimeError(f"postgres exited with {proc.returncode} at start:\n{tail}")
        try:
            psycopg.connect(server.dsn(), connect_timeout=2).close()
            return server
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.1)
