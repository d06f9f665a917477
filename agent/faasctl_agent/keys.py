"""CURVE keys: the agent's server pair and the clients (operators) it accepts.

Keys are made on the node at bootstrap and never leave it except the public half. The
allow-list is a folder of public-key files so that authorising an operator is one file
write, picked up by a running agent without a restart. faasctl replaces the whole set at
once (`operators` op): a new folder is written, then a symbolic link named `authorized`
is swapped onto it, so a crash leaves either the old set or the new one, never a mix.
ZAP checks a key only at the CURVE handshake, so the server also checks every request's
User-Id (the client's key) against `AllowList.allows`: a removed key is refused at once,
even on a connection opened before its removal.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import zmq
import zmq.auth

from .protocol import E_BAD_REQUEST, AgentFailure

log = logging.getLogger("faasctl_agent")
KEY_LENGTH = 40  # a CURVE public key in z85
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")  # a file name in the authorised folder


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


def check_key(name: str, public_key: str) -> str:
    """The key stripped, if it is a CURVE public key (40 z85 characters); AgentFailure if not."""
    key = public_key.strip()
    try:
        if len(key) != KEY_LENGTH:
            raise ValueError(f"it has {len(key)} characters")
        zmq.utils.z85.decode(key.encode())
    except (ValueError, KeyError) as exc:  # z85 raises KeyError for a character outside its alphabet
        raise AgentFailure(E_BAD_REQUEST, f"client {name}: {key[:48]!r} is not a CURVE public key "
                           f"({KEY_LENGTH} z85 characters): {exc}",
                           "pass the operator's public key as printed by faasctl") from exc
    if not NAME.match(name):
        raise AgentFailure(E_BAD_REQUEST, f"client name {name[:64]!r} is not a valid operator name",
                           "use lowercase letters, digits, '-', '_' and '.' (up to 64 characters)")
    return key


def _write_key(path: Path, key: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f'metadata\ncurve\n    public-key = "{key}"\n')
        out.flush()
        os.fsync(out.fileno())


def authorize(authorized_dir: Path, name: str, public_key: str) -> Path:
    """Add a client's public key (z85, 40 characters) to the allow-list."""
    key = check_key(name, public_key)
    authorized_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = authorized_dir / f"{name}.key"
    tmp = path.with_suffix(".tmp")
    _write_key(tmp, key)
    os.replace(tmp, path)
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_all(authorized_dir: Path, keys: dict[str, str]) -> None:
    """Make `keys` (name to checked key) the whole authorised set on disk, in one step.

    The set goes into a fresh sibling folder; `authorized` becomes a link to it by one
    rename. A folder an older agent made is moved aside first (once per node): a crash
    in that gap is repaired by `recover` at the next start.
    """
    parent = authorized_dir.parent
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tag = os.urandom(4).hex()
    fresh = parent / f"{authorized_dir.name}-{tag}"
    fresh.mkdir(mode=0o700)
    for name, key in sorted(keys.items()):
        _write_key(fresh / f"{name}.key", key)
    _fsync_dir(fresh)
    link = parent / f".{authorized_dir.name}-{tag}.link"
    os.symlink(fresh.name, link)
    if authorized_dir.is_dir() and not authorized_dir.is_symlink():
        os.rename(authorized_dir, parent / f"{authorized_dir.name}-{tag}-old")
    os.replace(link, authorized_dir)
    _fsync_dir(parent)
    for stale in parent.glob(f"{authorized_dir.name}-*"):
        if stale != fresh:
            shutil.rmtree(stale, ignore_errors=True)


def recover(authorized_dir: Path) -> None:
    """A crash between moving an old folder aside and linking the new set: link the newest set."""
    if authorized_dir.exists() or authorized_dir.is_symlink():
        return
    sets = sorted((p for p in authorized_dir.parent.glob(f"{authorized_dir.name}-*") if p.is_dir()),
                  key=lambda p: p.stat().st_mtime_ns)
    if sets:
        os.symlink(sets[-1].name, authorized_dir)
        log.warning("authorised keys restored from %s after an interrupted update", sets[-1])


class AllowList:
    """The authorised client keys: ZAP's credentials provider at the handshake, and the
    per-request check (`allows`, on the z85 User-Id that ZAP gave the connection)."""

    def __init__(self, authorized_dir: Path) -> None:
        self.dir = authorized_dir
        self._version: tuple[int, int] = (-1, -1)
        self._keys: set[bytes] = set()
        self.users: frozenset[str] = frozenset()  # the same keys as text: User-Id is text
        if authorized_dir.parent.is_dir():
            recover(authorized_dir)
        self.reload()

    def reload(self) -> None:
        try:
            st = self.dir.stat()
        except FileNotFoundError:
            self._set(set(), (-1, -1))
            return
        version = (st.st_ino, st.st_mtime_ns)
        if version == self._version:
            return
        keys = set()
        for path in self.dir.glob("*.key"):
            try:
                public, _ = zmq.auth.load_certificate(str(path))
            except (OSError, ValueError) as exc:  # one bad file must not lock every client out
                log.warning("ignoring unreadable client key %s: %s", path, exc)
                continue
            keys.add(public)
        self._set(keys, version)

    def _set(self, keys: set[bytes], version: tuple[int, int]) -> None:
        self._keys, self._version = keys, version
        self.users = frozenset(k.decode("ascii", "replace") for k in keys)

    def callback(self, domain: str, key: bytes) -> bool:
        if key not in self._keys:
            self.reload()
        return key in self._keys

    def allows(self, user: str) -> bool:
        """Is the connection's key (its ZAP User-Id) still authorised? Read from disk again
        only on a miss, so a key added by `faasctl-agent authorize` counts at once too."""
        if user in self.users:
            return True
        self.reload()
        return user in self.users

    def replace(self, keys: dict[str, str]) -> dict[str, int]:
        """Authorise exactly `keys` (name to z85 key): on disk, then here, with no await between."""
        checked = {name: check_key(name, key) for name, key in keys.items()}
        if not checked:
            raise AgentFailure(E_BAD_REQUEST, "an empty set of operators would lock every operator out",
                               "send at least the sender's own key")
        before = set(self.users)
        replace_all(self.dir, checked)
        self._version = (-1, -1)
        self.reload()
        return {"authorized": len(self.users), "added": len(self.users - before), "removed": len(before - self.users)}
