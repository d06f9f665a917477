"""CURVE keys: the agent's server pair and the clients it accepts.

Keys are made on the node at bootstrap and never leave it except the public half. The
allow-list is a folder of public-key files so that authorising an operator is one file
write, picked up by a running agent without a restart.
"""

from __future__ import annotations

import os
from pathlib import Path

import zmq
import zmq.auth


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
    if len(key) != 40:
        raise ValueError("a CURVE public key is 40 z85 characters")
    zmq.utils.z85.decode(key.encode())  # raises on a malformed key
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
            public, _ = zmq.auth.load_certificate(str(path))
            keys.add(public)
        self._keys, self._mtime = keys, mtime

    def callback(self, domain: str, key: bytes) -> bool:
        if key not in self._keys:
            self._reload()
        return key in self._keys
