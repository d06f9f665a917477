"""SSH host keys: faasctl's own known-hosts file and the rules for trusting a new host.

Why a file of our own (FAASCTL_HOME/known_hosts) rather than ~/.ssh/known_hosts: the
platform's trust decisions must be the same for paramiko (commands) and OpenSSH (rsync),
must not depend on a user's ssh config, and must not be silently widened by it. The
file is in OpenSSH format (``[host]:port`` for ports other than 22) so rsync's ``ssh -o
UserKnownHostsFile=...`` reads exactly what paramiko wrote.

Rules (the security model): a known host must present the key on file, else the
connection stops before authentication, with both fingerprints in the error; an unknown
host is refused unless the operator accepted it (``--accept-new-host-key``) or pinned
its fingerprint (``--host-key-fingerprint SHA256:...``) and the key matches the pin.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path
from typing import Any

from ..errors import HostKeyError

# Fan-out adds many hosts at once from threads; one writer at a time keeps the file whole.
_write_lock = threading.Lock()


def host_entry(host: str, port: int) -> str:
    """The name a host is filed under, as OpenSSH and paramiko both spell it."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key_blob: bytes) -> str:
    """OpenSSH's ``SHA256:...`` form (unpadded base64), what ``ssh-keygen -l`` prints."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")


def normalise_fingerprint(text: str) -> str:
    text = text.strip()
    if not text.startswith("SHA256:") or len(text) < 20:
        from ..errors import InvalidInput

        raise InvalidInput(f"host key fingerprint {text!r} is not in SHA256:... form",
                           "get it on the node with: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub")
    return text.rstrip("=")


def remember(path: Path, name: str, key: Any) -> None:
    """Add (or replace) one host's key in the file, keeping every other entry."""
    import paramiko

    with _write_lock:
        keys = paramiko.HostKeys()
        if path.exists():
            keys.load(str(path))
        keys.add(name, key.get_name(), key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        keys.save(str(tmp))
        tmp.replace(path)


def forget(path: Path, name: str) -> bool:
    """Drop a host's entry (after a reinstall the operator has verified out of band)."""
    import paramiko

    with _write_lock:
        if not path.exists():
            return False
        keys = paramiko.HostKeys()
        keys.load(str(path))
        if name not in keys:
            return False
        del keys[name]
        tmp = path.with_name(f".{path.name}.tmp")
        keys.save(str(tmp))
        tmp.replace(path)
        return True


def make_policy(path: Path, node: str, pinned: str = "", accept_new: bool = False) -> Any:
    """A paramiko policy for hosts not in the file: refuse unless accepted or pinned."""
    import paramiko

    want = normalise_fingerprint(pinned) if pinned else ""

    class Policy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]  # paramiko ships no types
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            got = fingerprint(key.asbytes())
            if want:
                if got != want:
                    raise HostKeyError(
                        f"host key of {hostname} ({node}) does not match the pinned fingerprint: "
                        f"pinned {want}, offered {got}",
                        "check the fingerprint on the node: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub")
            elif not accept_new:
                raise HostKeyError(
                    f"{hostname} ({node}) is not a known host; its key is {key.get_name()} {got}",
                    f"verify it on the node, then pass --host-key-fingerprint {got} (or --accept-new-host-key)")
            remember(path, hostname, key)

    return Policy()


def trusted_client(path: Path, node: str, pinned: str = "", accept_new: bool = False) -> Any:
    """A paramiko client trusting this file and policy only (never ~/.ssh/known_hosts)."""
    import paramiko

    client = paramiko.SSHClient()
    if path.exists():
        client.load_host_keys(str(path))
    client.set_missing_host_key_policy(make_policy(path, node, pinned, accept_new))
    return client


def changed_key_error(exc: Any, node: str, path: Path) -> HostKeyError:
    """paramiko's BadHostKeyException as our error, with the old and new fingerprints."""
    old = fingerprint(exc.expected_key.asbytes())
    new = fingerprint(exc.key.asbytes())
    return HostKeyError(
        f"HOST KEY CHANGED for {exc.hostname} ({node}): known {old}, now offered {new}; nothing was run",
        f"if the node was reinstalled, verify {new} on it, then: faasctl node forget-host-key {node}"
        f" (or remove its line from {path})")
