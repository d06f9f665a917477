"""The bootstrap probe: what a node offers and what of ours is there, in one exec.

It runs before the agent is installed, so it is sent as source (`python3 -c`) to
whatever python3 the node has: stdlib only, Python 3.9 syntax, no import of this
package. Why one script and not one command per check: every SSH exec starts a Python
on the node, and a bootstrap of many nodes that share little CPU (or a no-op re-run that
must finish in seconds) pays for each. It prints one JSON object (see `probe`).

Usage: python3 -c "$(source)" HOME CLIENT_PUBLIC_KEY
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from typing import Any

DOCKER_SOCKET = "/var/run/docker.sock"
MIN_FREE = 2**30  # bytes free under the agent's home


def libc() -> tuple[str, str]:
    """("glibc", "2.36"), ("musl", "1.2.4"), or empty strings when neither is found."""
    try:
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()  # type: ignore[union-attr]
        return name, version
    except (ValueError, OSError, AttributeError):
        pass
    import glob
    import subprocess

    for loader in glob.glob("/lib/ld-musl-*.so.1"):  # musl's loader prints its version when run bare
        err = subprocess.run([loader], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL).stderr.decode()
        words = err.split()
        return "musl", words[words.index("Version") + 1] if "Version" in words else ""
    return "", ""


def read(home: str, path: str) -> str:
    try:
        with open(os.path.join(home, path)) as f:
            return f.read()
    except OSError:
        return ""


def authorized(home: str, client: str) -> bool:
    """Is `client` in any key file of the allow-list (bootstrap's or `faasctl operator`'s)?"""
    folder = os.path.join(home, "keys", "authorized")
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".key")]
    except OSError:
        return False
    return any(f'public-key = "{client}"' in read(folder, n) for n in names)


def healthy(config_text: str) -> bool:
    """The agent's /healthz over raw HTTP: importing urllib.request costs more than the probe."""
    try:
        cfg = json.loads(config_text)
        auth = f"Authorization: Bearer {cfg['http_token']}\r\n" if cfg.get("http_token") else ""
        conn = socket.create_connection((cfg.get("http_host", "127.0.0.1"), cfg["http_port"]), 2)
        try:
            conn.settimeout(2)
            conn.sendall(f"GET /healthz HTTP/1.0\r\nHost: localhost\r\n{auth}\r\n".encode())
            return conn.recv(32).split(b" ")[1:2] == [b"200"]
        finally:
            conn.close()
    except Exception:  # noqa: BLE001  (anything but a 200 is "not healthy")
        return False


def probe(home: str, client: str) -> dict[str, Any]:
    """Checks that failed (under "fail"), the node's platform, and our files in `home`."""
    home = os.path.expanduser(home)
    fail = []
    if sys.version_info < (3, 9):  # noqa: UP036  (this runs on whatever python3 the node has)
        fail.append("python")
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(5)
        sock.connect(DOCKER_SOCKET)
        sock.close()
    except OSError:
        fail.append("docker")
    try:
        os.makedirs(home, exist_ok=True)
        if shutil.disk_usage(home).free < MIN_FREE:
            fail.append("disk")
    except OSError:
        fail.append("home")
    try:
        import venv  # noqa: F401
    except ImportError:
        fail.append("venv")
    name, version = libc()
    config = read(home, "agent.json")
    key = read(home, "keys/server.key")
    return {"python": f"{sys.version_info[0]}.{sys.version_info[1]}", "home": home, "fail": fail,
            "machine": os.uname().machine, "libc": name, "libc_version": version,
            "build": read(home, "venv/.faasctl-build").strip(), "config": config,
            "server_key": key.split('public-key = "')[1].split('"')[0] if 'public-key = "' in key else "",
            "authorized": bool(client) and authorized(home, client),
            "healthy": healthy(config)}


def main(argv: list[str]) -> int:
    print(json.dumps(probe(argv[0], argv[1] if len(argv) > 1 else "")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
