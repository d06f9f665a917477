"""Where an SSH node is and which host key to trust: the part of a node the connector needs.

Kept apart from ssh.py so that the transfer and tunnel helpers, and the node spec in
core, can name it without importing the SSH session code (or paramiko).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KNOWN_HOSTS = "known_hosts"  # under FAASCTL_HOME: see hostkeys.py for why a file of our own


@dataclass(frozen=True)
class SshTarget:
    """How to reach one node: address, login, and the trust decisions for its host key."""

    name: str
    host: str
    port: int = 22
    user: str = ""
    key_path: str = ""
    known_hosts: Path = Path(KNOWN_HOSTS)
    pinned_fingerprint: str = ""  # SHA256:... accepted for an unknown host
    accept_new: bool = False  # trust an unknown host's key on first contact
    sudo: bool = False  # prefix node commands with `sudo -n`
    tunnel: bool = False  # the agent is dialled through this SSH session (its port stays closed)


def ssh_settings(node: Mapping[str, Any]) -> dict[str, Any]:
    """SSH-only settings kept in the node's defaults (a JSON string in fast-path rows)."""
    defaults = node.get("defaults") or {}
    parsed = json.loads(defaults) if isinstance(defaults, str) else defaults
    return dict(parsed.get("_ssh", {}))


def target_of(node: Mapping[str, Any], home: Path) -> SshTarget:
    """The target of a registered node (a state row), trusting only keys on file."""
    ssh = ssh_settings(node)
    return SshTarget(name=node["name"], host=node["host"], port=int(node["port"]), user=node["user"] or "",
                     key_path=node["key_path"] or "", known_hosts=home / KNOWN_HOSTS,
                     sudo=bool(ssh.get("sudo")), tunnel=bool(ssh.get("tunnel")))
