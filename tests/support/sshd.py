"""A real, throw-away OpenSSH server for tests of code that reaches nodes over SSH.

Mocking paramiko would hide exactly the behaviour an SSH connector has to get
right (host key checking, key auth, rsync over ssh), so tests talk to Debian's
own ``sshd`` instead. It runs from a temp dir with its own config and keys,
listens on 127.0.0.1 only and is a child of the test process, so nothing on
the machine's real ssh setup is read or changed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
# sshd refuses to start as root without its privilege-separation directory.
PRIVSEP_DIR = Path("/run/sshd")
HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
PORT_ATTEMPTS = 5


def generate_ed25519_key(path: Path, comment: str) -> str:
    """Create a passphrase-less ed25519 key pair at ``path`` and ``path.pub``.

    Uses ssh-keygen so the files are exactly what OpenSSH tools expect.
    Returns the public key line.
    """
    public = Path(f"{path}.pub")
    # ssh-keygen asks before overwriting; callers want a fresh key every time.
    path.unlink(missing_ok=True)
    public.unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    path.chmod(0o600)
    return public.read_text().strip()


def fingerprint_sha256(public_key_line: str) -> str:
    """OpenSSH-style ``SHA256:...`` fingerprint, as ``ssh-keygen -l`` prints it."""
    blob = base64.b64decode(public_key_line.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")


def known_hosts_line(host: str, port: int, public_key_line: str) -> str:
    """A known_hosts entry; non-22 ports need OpenSSH's ``[host]:port`` form."""
    key_type, key_b64 = public_key_line.split()[:2]
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {key_type} {key_b64}"


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago (the caller retries if it loses a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_ssh_banner(
    host: str,
    port: int,
    timeout: float = START_TIMEOUT,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Block until ``host:port`` sends an SSH identification line.

    An accepted TCP connection is not enough: Docker's port proxy accepts
    before the container's sshd listens. ``alive`` lets the caller stop
    waiting as soon as the server process has died.
    """
    deadline = time.monotonic() + timeout
    last = "no attempt made"
    while True:
        if alive is not None and not alive():
            raise RuntimeError(f"ssh server for {host}:{port} exited while starting")
        try:
            with socket.create_connection((host, port), timeout=1.0) as sock:
                sock.settimeout(max(0.1, min(2.0, deadline - time.monotonic())))
                banner = sock.recv(256)
            if banner.startswith(b"SSH-"):
                return
            last = f"unexpected banner {banner!r}"
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"no SSH banner from {host}:{port} within {timeout:.0f} s ({last})"
            )
        time.sleep(0.1)


def _die_with_parent_prefix() -> list[str]:
    """Command prefix making Linux SIGTERM sshd if the test process dies uncleanly.

    util-linux's setpriv sets the parent-death signal and then execs sshd, so
    sshd stays our direct child; this avoids a ``preexec_fn``, which is unsafe
    once paramiko's threads run. The signal fires when the *thread* that
    started sshd exits (pytest's main thread). Without setpriv, ``stop()`` in
    ``start_sshd``'s cleanup is the only guard.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


@dataclass
class SshServer:
    """A running sshd plus everything a client needs to reach it with checking on."""

    host: str
    port: int
    user: str
    client_key_path: Path
    client_public_key: str
    host_key_fingerprint: str
    host_public_key: str
    workdir: Path = field(repr=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config_path(self) -> Path:
        return self.workdir / "sshd_config"

    @property
    def host_key_path(self) -> Path:
        return self.workdir / "ssh_host_ed25519_key"

    @property
    def log_path(self) -> Path:
        return self.workdir / "sshd.log"

    @property
    def known_hosts_line(self) -> str:
        """The current host key as a known_hosts entry for ``[host]:port``."""
        return known_hosts_line(self.host, self.port, self.host_public_key)

    def write_known_hosts(self, path: Path) -> Path:
        """Write a known_hosts file that pins the current host key."""
        path.write_text(self.known_hosts_line + "\n")
        return path

    def log(self) -> str:
        """sshd's own log (it runs with ``-e``); useful in assertion messages."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _launch(self) -> None:
        """Start sshd in the foreground and wait until it speaks SSH."""
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                # sshd re-executes itself, so it must be called by absolute path.
                [
                    *_die_with_parent_prefix(),
                    str(SSHD),
                    "-D",
                    "-e",
                    "-f",
                    str(self.config_path),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_ssh_banner(
                self.host, self.port, START_TIMEOUT, alive=lambda: self.running
            )
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(
                f"sshd did not start on {self.host}:{self.port}: {exc}\n"
                f"--- sshd log ---\n{self.log()}"
            ) from exc

    def rotate_host_key(self) -> None:
        """Replace the host key, restart on the same port: a reinstalled node."""
        self.stop()
        self.host_public_key = generate_ed25519_key(
            self.host_key_path, "faasctl-test-host"
        )
        self.host_key_fingerprint = fingerprint_sha256(self.host_public_key)
        self._launch()

    def stop(self) -> None:
        """Stop the listener (idempotent); open sessions end with their client."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def _write_config(server: SshServer, authorized_keys: Path) -> None:
    """Write a minimal sshd_config that only allows key logins for this user."""
    lines = [
        f"Port {server.port}",
        f"ListenAddress {server.host}",
        f"HostKey {server.host_key_path}",
        f"PidFile {server.workdir / 'sshd.pid'}",
        f"AuthorizedKeysFile {authorized_keys}",
        f"AllowUsers {server.user}",
        # The temp dir belongs to pytest, not to the login user.
        "StrictModes no",
        "UsePAM no",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "Subsystem sftp internal-sftp",
        "PrintMotd no",
        "UseDNS no",
        "X11Forwarding no",
        "LogLevel VERBOSE",
    ]
    server.config_path.write_text("\n".join(lines) + "\n")


@contextlib.contextmanager
def start_sshd(tmp_path: Path) -> Iterator[SshServer]:
    """Run a fresh sshd for the duration of the ``with`` block.

    Files live in ``tmp_path / "sshd"`` so a test can use the rest of
    ``tmp_path`` for its own data (the server can read and write it all,
    being localhost and the same user).
    """
    if not SSHD.exists():
        raise FileNotFoundError(f"{SSHD} is missing; install Debian's openssh-server")
    try:
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    except PermissionError:
        if os.geteuid() == 0:
            raise  # only root's sshd needs it; others can go on without
    workdir = tmp_path / "sshd"
    workdir.mkdir(mode=0o700)
    user = pwd.getpwuid(os.geteuid()).pw_name
    client_key = workdir / "id_ed25519"
    client_public = generate_ed25519_key(client_key, f"faasctl-test-client@{user}")
    authorized_keys = workdir / "authorized_keys"
    authorized_keys.write_text(client_public + "\n")
    authorized_keys.chmod(0o600)
    host_public = generate_ed25519_key(
        workdir / "ssh_host_ed25519_key", "faasctl-test-host"
    )
    server = SshServer(
        host=HOST,
        port=0,
        user=user,
        client_key_path=client_key,
        client_public_key=client_public,
        host_key_fingerprint=fingerprint_sha256(host_public),
        host_public_key=host_public,
        workdir=workdir,
    )
    try:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            server.port = free_port(HOST)
            _write_config(server, authorized_keys)
            server.log_path.unlink(missing_ok=True)
            try:
                server._launch()
                break
            except RuntimeError:
                # Another process may grab the port between free_port() and bind().
                if (
                    attempt == PORT_ATTEMPTS
                    or "Address already in use" not in server.log()
                ):
                    raise
        yield server
    finally:
        server.stop()
