"""CURVE keys: the agent's server pair and the clients it accepts.

Keys are made on the node at bootstrap and never leave it except the public half. The
allow-list is a folder of public-key files so that authorising an operator is one file
write, picked up by a running agent without a restart.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import zmq
import zmq.auth

from .protocol import E_BAD_REQUEST, AgentFailure

log = logging.getLogger("faasctl_agent")
KEY_LENGTH = 40  # a CURVE public key in z85


def ensure_server_keys(keys_dir: Path) -> tuple[bytes, bytes]:
    """Return (public, secret), creating them once; the secret file is 0600."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret_file = keys_dir / "server.key_secret"
    if not secret_file.exists():
        zmq.auth.create_certificates(str(keys_dir), "server")
        os.chmod(secret_file, 0o600)
    public, secret = zmq.auth.load_certificate(str(secret_file))
    assert secret is not None
    return public, secret


def authorize(authorized_dir: Path, name: str, public_key: str) -> Path:
    """Add a client's public key (z85, 40 characters) to the allow-list."""
    key = public_key.strip()
    try:
        if len(key) != KEY_LENGTH:
            raise ValueError(f"it has {len(key)} characters")
        zmq.utils.z85.decode(key.encode())
    except (ValueError, KeyError) as exc:  # z85 raises KeyError for a character outside its alphabet
        raise AgentFailure(E_BAD_REQUEST, f"client {name}: {key[:48]!r} is not a CURVE public key "
                           f"({KEY_LENGTH} z85 characters): {exc}",
                           "pass the operator's public key as printed by faasctl") from exc
    authorized_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = authorized_dir / f"{name}.key"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f'metadata\ncurve\n    public-key = "{key}"\n')
    os.replace(tmp, path)
    return path


class AllowList:
    """ZAP credentials provider: accepts only keys found in the authorised folder."""

    def __init__(self, authorized_dir: Path) -> None:
        self.dir = authorized_dir
        self._mtime = -1.0
        self._keys: set[bytes] = set()

    def _reload(self) -> None:
        try:
            mtime = self.dir.stat().st_mtime
        except FileNotFoundError:
            self._keys, self._mtime = set(), -1.0
            return
        if mtime == self._mtime:
            return
        keys = set()
        for path in self.dir.glob("*.key"):
            try:
                public, _ = zmq.auth.load_certificate(str(path))
            except (OSError, ValueError) as exc:  # one bad file must not lock every client out
                log.warning("ignoring unreadable client key %s: %s", path, exc)
                continue
            keys.add(public)
        self._keys, self._mtime = keys, mtime

    def callback(self, domain: str, key: bytes) -> bool:
        if key not in self._keys:
            self._reload()
        return key in self._keys
