"""The SSH connector: runs bootstrap steps and pushes files on a node over one SSH session.

fabric's Connection (imported lazily: fabric and paramiko cost ~180 ms and most commands
never touch SSH) holds the session and runs the commands. Its defaults are not ours, so
open_connection() builds it: no ~/.ssh/config, no fabric config files, and a paramiko
client that trusts only faasctl's own known-hosts file (hostkeys.trusted_client). Files go with rsync
over OpenSSH configured from the same settings, so both channels trust exactly the same
keys; SFTP on the same session is the fallback when rsync is missing on either side.
Every paramiko/socket error is converted at the boundary into NodeUnreachable or
HostKeyError.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import HostKeyError, NodeUnreachable
from .base import Result, venv_python
from .target import SshTarget, target_of

__all__ = ["KIND", "SshConnector", "SshTarget", "for_node"]

KIND = "ssh"
CONNECT_TIMEOUT = 15


def open_connection(t: SshTarget) -> Any:
    """A connected fabric Connection whose only trust is faasctl's known-hosts file and policy.

    fabric's own Connection() would read ~/.ssh/config (which may redirect the host, port,
    user or add a ProxyCommand), fabric's config files, and trust on first use
    (AutoAddPolicy): a lazy Config and our own client replace all three.
    """
    import paramiko
    from fabric import Config, Connection

    from . import hostkeys

    config = Config(lazy=True, overrides={"load_ssh_configs": False, "run": {"encoding": "utf-8"}})
    auth: dict[str, Any] = dict(banner_timeout=CONNECT_TIMEOUT, auth_timeout=CONNECT_TIMEOUT)
    if t.key_path:
        auth.update(key_filename=str(Path(t.key_path).expanduser()), look_for_keys=False, allow_agent=False)
    conn = Connection(t.host, user=t.user or None, port=t.port, config=config, gateway=False,
                      forward_agent=False, connect_timeout=CONNECT_TIMEOUT, connect_kwargs=auth)
    conn.client = hostkeys.trusted_client(t.known_hosts, t.name, t.pinned_fingerprint, t.accept_new)
    where = f"{t.user + '@' if t.user else ''}{t.host}:{t.port}"
    try:
        conn.open()
    except HostKeyError:
        conn.client.close()
        raise
    except paramiko.BadHostKeyException as exc:
        conn.client.close()
        raise hostkeys.changed_key_error(exc, t.name, t.known_hosts) from exc
    except paramiko.AuthenticationException as exc:
        conn.client.close()
        raise NodeUnreachable(f"node {t.name}: SSH login to {where} refused ({exc})",
                              "check --user and --key, and the key in the node's authorized_keys") from exc
    except (paramiko.SSHException, OSError, EOFError) as exc:
        conn.client.close()
        raise NodeUnreachable(f"node {t.name}: cannot reach {where} over SSH ({exc or type(exc).__name__})",
                              "check the address and that sshd runs on the node") from exc
    return conn


def for_node(node: Mapping[str, Any], home: Path) -> SshConnector:
    """The registry's entry point (see connectors/__init__.py)."""
    return SshConnector(target_of(node, home))


class SshConnector:
    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self.name = target.name
        self._conn: Any = None
        self._remote_rsync: bool | None = None
        self._forwarders: dict[tuple[str, int], Any] = {}

    # session -------------------------------------------------------------------
    def connect(self) -> Any:
        """The open fabric Connection (host key checked before any authentication or command)."""
        if self._conn is None:
            self._conn = open_connection(self.target)
        return self._conn

    def run(self, argv: tuple[str, ...] | list[str], timeout: float = 300.0) -> Result:
        """Run argv on the node (quoted for its shell); stdout and stderr kept apart."""
        import paramiko
        from invoke.exceptions import CommandTimedOut

        conn = self.connect()
        try:
            res = conn.run(self._command(argv), hide=True, warn=True, in_stream=False, pty=False,
                           timeout=timeout)
        except CommandTimedOut as exc:
            raise NodeUnreachable(f"{argv[0]} on node {self.name} did not finish within {timeout:g} s") from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise NodeUnreachable(f"node {self.name}: SSH session broke while running {argv[0]} ({exc})",
                                  "check the node's network and sshd") from exc
        return Result(int(res.exited), res.stdout, res.stderr)

    # streams (docker save | docker load between engines; see sshstream.py) ----------
    def stream_out(self, argv: tuple[str, ...] | list[str], timeout: float = 1800.0) -> Iterator[bytes]:
        from .sshstream import read_stdout

        return read_stdout(self._exec(argv), f"{argv[0]} on node {self.name}", timeout)

    def stream_in(self, argv: tuple[str, ...] | list[str], chunks: Iterable[bytes],
                  timeout: float = 1800.0) -> Result:
        from .sshstream import write_stdin

        return write_stdin(self._exec(argv), f"{argv[0]} on node {self.name}", chunks, timeout)

    def _exec(self, argv: tuple[str, ...] | list[str]) -> Any:
        """A raw channel running argv: invoke's runner keeps all output, a stream must not."""
        import paramiko

        command = self._command(argv)
        try:
            chan = self.connect().transport.open_session(timeout=CONNECT_TIMEOUT)
            chan.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise NodeUnreachable(f"node {self.name}: cannot start {argv[0]} over SSH ({exc})",
                                  "check the node's network and sshd") from exc
        return chan

    def _command(self, argv: tuple[str, ...] | list[str]) -> str:
        """argv quoted for the node's shell, behind `sudo -n` for a sudo node.

        Not fabric's sudo(): it runs `sudo -S -p PROMPT` and answers the prompt with a
        password, and faasctl holds none. `-n` fails at once where a password is asked.
        """
        command = shlex.join(list(argv))
        return "sudo -n " + command if self.target.sudo else command

    def agent_python(self, agent_home: str) -> str:
        return venv_python(agent_home)

    def endpoint(self, zmq_endpoint: str) -> str:
        """Through a tunnel node's session, a local port leading to the agent's; else as is."""
        if not self.target.tunnel:
            return zmq_endpoint
        return f"tcp://127.0.0.1:{self.forward('127.0.0.1', int(zmq_endpoint.rsplit(':', 1)[1]))}"

    # files ---------------------------------------------------------------------
    def put_file(self, local: Path, remote: str) -> int:
        """Place `local` at `remote` atomically unless a file of that name is there.

        Remote names are content digests, so an existing name is the same bytes: the
        transfer is skipped entirely. Returns the file data bytes actually sent.
        """
        from . import transfer

        self.connect()  # host key verified by paramiko before rsync's ssh ever runs
        parent = remote.rsplit("/", 1)[0] or "/"
        self.run(("mkdir", "-p", parent))
        if self.has_rsync():
            return transfer.rsync(self.target, [str(local)], remote, ignore_existing=True)
        return transfer.sftp_put(self.connect(), local, remote)

    def put_dir(self, local: Path, remote: str) -> int:
        """Mirror a folder's files into `remote` (rsync quick check, or SFTP by size)."""
        from . import transfer

        self.connect()
        self.run(("mkdir", "-p", remote))
        if self.has_rsync():
            return transfer.rsync(self.target, [f"{local}/"], f"{remote}/", ignore_existing=False, delete=True)
        conn = self.connect()
        return sum(transfer.sftp_put(conn, p, f"{remote}/{p.name}") for p in sorted(local.iterdir())
                   if p.is_file())

    def has_rsync(self) -> bool:
        if self._remote_rsync is None:
            import shutil

            here = shutil.which("rsync") is not None and shutil.which("ssh") is not None
            there = self.run(("sh", "-c", "command -v rsync")).code == 0
            self._remote_rsync = here and there
        return self._remote_rsync

    def forward(self, host: str, port: int) -> int:
        """A local port that reaches host:port as seen from the node (see tunnel.py)."""
        if (host, port) not in self._forwarders:
            from .tunnel import Forwarder

            self._forwarders[(host, port)] = Forwarder(self.connect().transport, host, port, self.name)
        return int(self._forwarders[(host, port)].port)

    def close(self) -> None:
        for forwarder in self._forwarders.values():
            forwarder.close()
        self._forwarders.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
