"""File transfer to a node: rsync over OpenSSH, or SFTP (fabric's put) on the session.

rsync is preferred because it skips what the node has (and writes through a temporary
file it renames, so a reader never sees half an archive). Its `ssh` is configured from
the same SshTarget as paramiko: the same port, key and faasctl known-hosts file, with
StrictHostKeyChecking=yes and BatchMode=yes so it can never prompt or add a key itself.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from ..errors import HostKeyError, NodeSetupFailed, NodeUnreachable
from .target import SshTarget

RSYNC_SSH_FAILED = 255  # rsync's exit code when its ssh failed (the node was not reached)
STATS_SENT = re.compile(r"Total transferred file size: ([\d,.]+)")


def ssh_command(target: SshTarget) -> list[str]:
    """The `ssh` argv rsync should use: host key checking against faasctl's file only."""
    argv = ["ssh", "-p", str(target.port), "-o", f"UserKnownHostsFile={target.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
    if target.key_path:
        argv += ["-i", str(Path(target.key_path).expanduser()), "-o", "IdentitiesOnly=yes"]
    return argv


def rsync(target: SshTarget, sources: list[str], remote: str, ignore_existing: bool, delete: bool = False) -> int:
    """Run rsync to `remote` on the node; returns file data bytes sent (from --stats)."""
    login = f"{target.user}@{target.host}" if target.user else target.host
    argv = ["rsync", "-a", "--stats", "-e", shlex.join(ssh_command(target))]
    if ignore_existing:
        argv.append("--ignore-existing")  # digest names: an existing file is the same bytes
    if delete:
        argv.append("--delete")  # a mirrored folder (wheels) keeps nothing stale
    if target.sudo:
        argv += ["--rsync-path", "sudo -n rsync"]
    argv += [*sources, f"{login}:{remote}"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=3600, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise NodeUnreachable(f"node {target.name}: rsync did not finish within an hour") from exc
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        text = " / ".join(err[-3:]) or f"exit {proc.returncode}"
        if "Host key verification failed" in proc.stderr or "REMOTE HOST IDENTIFICATION" in proc.stderr:
            raise HostKeyError(f"node {target.name}: rsync's ssh refused the host key ({text})",
                               f"see `faasctl node status {target.name}`; the key may have changed")
        if proc.returncode == RSYNC_SSH_FAILED:
            raise NodeUnreachable(f"node {target.name}: rsync could not reach the node ({text})",
                                  "check the node's network and sshd")
        raise NodeSetupFailed(f"node {target.name}: rsync to {remote} failed ({text})",
                              "check free disk and permissions under the agent's home on the node")
    return parse_sent(proc.stdout)


def parse_sent(stats: str) -> int:
    match = STATS_SENT.search(stats)
    return int(match.group(1).replace(",", "").replace(".", "")) if match else 0


def sftp_put(conn: Any, local: Path, remote: str) -> int:
    """Upload (fabric's put) through a temporary name then rename, unless a same-size file is there."""
    import paramiko

    size = local.stat().st_size
    try:
        sftp = conn.sftp()
    except (paramiko.SSHException, OSError) as exc:
        raise NodeSetupFailed(f"SFTP is not available on the node ({exc})",
                              "install rsync on the node, or enable the sftp subsystem in sshd") from exc
    try:
        try:
            if sftp.stat(remote).st_size == size:
                return 0
        except FileNotFoundError:
            pass
        tmp = f"{remote}.{local.stat().st_ino}.part"
        conn.put(str(local), tmp, preserve_mode=False)
        sftp.posix_rename(tmp, remote)
        return size
    except (paramiko.SSHException, OSError) as exc:
        raise NodeUnreachable(f"SFTP upload of {local.name} to {remote} failed ({exc})",
                              "check free disk and permissions under the agent's home on the node") from exc
