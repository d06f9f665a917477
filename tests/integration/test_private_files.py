"""Secrets stay private (issue 9, item 1): the operator's home, state file, CURVE keys and
the local agent's home are 0700/0600, another local user (uid 65534) can read none of
them, the secret key is not in state.db, `serve` takes its token from a file or the
environment (not argv), and the agent's HTTP port tells a stranger nothing but "up".

The operator home is made by faasctl inside a 0755 folder, so only faasctl's own modes
stand between uid 65534 and the files (pytest's tmp dirs are 0700 and would hide a bug).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.apiserver import serve
from tests.support.platform import FAASCTL, REPO, Platform

pytestmark = pytest.mark.integration

NOBODY = 65534


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def as_nobody(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python code as uid/gid 65534 (a stranger on this machine)."""
    def drop() -> None:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    return subprocess.run(["/usr/bin/python3", "-c", code, *args], capture_output=True, text=True, timeout=60,
                          preexec_fn=drop, stdin=subprocess.DEVNULL, cwd="/")


@pytest.fixture(scope="module")
def shared_parent() -> Iterator[Path]:
    """A 0755 folder that everyone may traverse, where faasctl makes its home."""
    parent = Path(tempfile.mkdtemp(prefix="faasctl-private-", dir="/tmp"))
    parent.chmod(0o755)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
def op(shared_parent: Path) -> Iterator[Platform]:
    home = shared_parent / "faasctl-home"
    plat = Platform(home, {**os.environ, "FAASCTL_HOME": str(home)})
    plat.cli("node", "add", "local")
    yield plat
    plat.cli("node", "rm", "local", check=False)


def test_home_state_keys_and_agent_home_are_private(op: Platform) -> None:
    home = op.home
    agent_home = home / "nodes" / "local"
    assert mode(home.parent) == 0o755  # made inside a world-readable folder
    assert mode(home) == 0o700 and mode(agent_home) == 0o700 and mode(home / "keys") == 0o700
    assert mode(home / "state.db") == 0o600 and mode(home / "keys" / "operator.json") == 0o600
    for name in ("agent.json", "journal.db", "agent.log", "agent.pid"):
        assert mode(agent_home / name) == 0o600, name


def test_a_stranger_can_read_neither_state_nor_keys_nor_agent_home(op: Platform) -> None:
    home = op.home
    control = home.parent / "control.txt"  # proves the stranger can read what is meant to be read
    control.write_text("public\n")
    control.chmod(0o644)
    probe = """
import sqlite3, sys
home = sys.argv[1]
out = []
for path in (sys.argv[2], home + "/state.db", home + "/keys/operator.json", home + "/nodes/local/agent.json"):
    try:
        open(path, "rb").read(); out.append("read " + path)
    except OSError: pass
try:
    conn = sqlite3.connect("file:" + home + "/state.db?immutable=1", uri=True)
    conn.execute("SELECT * FROM sqlite_master").fetchall(); out.append("state.db opened")
except sqlite3.Error: pass
import os
for folder in (home, home + "/nodes/local"):
    try:
        os.listdir(folder); out.append("listed " + folder)
    except OSError: pass
print("|".join(out) or "nothing")
"""
    proc = as_nobody(probe, str(home), str(control))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"read {control}"


def test_the_secret_key_is_not_in_the_state_file(op: Platform) -> None:
    keys = json.loads((op.home / "keys" / "operator.json").read_text())
    assert len(keys["public"]) == 40 and len(keys["secret"]) == 40
    for name in ("state.db", "state.db-wal"):
        path = op.home / name
        if path.exists():
            assert keys["secret"].encode() not in path.read_bytes(), name
    tables = {r[0] for r in sqlite3.connect(op.home / "state.db").execute("SELECT name FROM sqlite_master")}
    assert "identity" not in tables


def test_agent_http_shows_a_stranger_only_liveness(op: Platform) -> None:
    node = json.loads(op.cli("node", "list", "--json").stdout)[0]
    base = f"http://127.0.0.1:{node['http_port']}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:
        assert json.loads(resp.read()) == {"ok": True}  # no version, no node name
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/metrics", timeout=5)
    assert refused.value.code == 401 and b"faasctl_agent" not in refused.value.read()
    wrong = urllib.request.Request(f"{base}/metrics", headers={"Authorization": "Bearer nope"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(wrong, timeout=5)
    token = json.loads((op.home / "nodes" / "local" / "agent.json").read_text())["http_token"]
    assert len(token) >= 32
    auth = {"Authorization": f"Bearer {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/metrics", headers=auth), timeout=5) as resp:
        assert b"faasctl_agent_running_calls" in resp.read()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/healthz", headers=auth), timeout=5) as resp:
        assert json.loads(resp.read())["node"] == "local"


def legacy_home(parent: Path, name: str) -> tuple[Path, dict[str, str]]:
    """A home as an older faasctl left it: 0755, state.db 0644 with the key pair in a table."""
    import zmq

    from faasctl.state.db import open_engine

    home = parent / name
    open_engine(home / "state.db").dispose()
    public, secret = (k.decode() for k in zmq.curve_keypair())
    conn = sqlite3.connect(home / "state.db", isolation_level=None)
    conn.execute("CREATE TABLE identity (name VARCHAR NOT NULL PRIMARY KEY, public VARCHAR NOT NULL, "
                 "secret VARCHAR NOT NULL)")
    conn.execute("INSERT INTO identity VALUES ('operator', ?, ?)", (public, secret))
    conn.close()
    home.chmod(0o755)
    (home / "state.db").chmod(0o644)
    assert secret.encode() in (home / "state.db").read_bytes()  # the exposure being fixed
    return home, {"public": public, "secret": secret}


def assert_moved_out(home: Path, keys: dict[str, str]) -> None:
    assert json.loads((home / "keys" / "operator.json").read_text()) == keys
    assert mode(home / "keys" / "operator.json") == 0o600 and mode(home / "keys") == 0o700
    for name in ("state.db", "state.db-wal"):
        if (home / name).exists():
            assert keys["secret"].encode() not in (home / name).read_bytes(), name
    tables = {r[0] for r in sqlite3.connect(home / "state.db").execute("SELECT name FROM sqlite_master")}
    assert "identity" not in tables and "node" in tables


def test_an_old_state_file_gives_up_its_keys_on_first_use(shared_parent: Path) -> None:
    home, keys = legacy_home(shared_parent, "legacy-cli")
    plat = Platform(home, {**os.environ, "FAASCTL_HOME": str(home)})
    plat.cli("node", "list")  # any command that touches the state
    assert mode(home) == 0o700 and mode(home / "state.db") == 0o600
    from faasctl.config import Settings
    from faasctl.core.context import Context

    ctx = Context(Settings(home=home))
    assert ctx.identity() == keys  # the same pair: agents that authorised it still answer
    assert_moved_out(home, keys)


def test_invoke_fast_path_moves_old_keys_too(shared_parent: Path) -> None:
    from faasctl.state import fastpath

    home, keys = legacy_home(shared_parent, "legacy-fast")
    conn = fastpath.connect(home / "state.db")
    conn.execute("INSERT INTO runtime (name, image, path, dependencies, run, handler, source_digest, base, "
                 "offline_base, created_at) VALUES ('py', 'img', '/ws', '', '', '', '', '', '', 0)")
    conn.execute("INSERT INTO function (name, runtime_name, version, digest, mode, handler, policy, placement, "
                 "pinned, created_at, updated_at) VALUES ('f', 'py', 1, 'd', 'command', '', '{}', "
                 "'round-robin', '[]', 0, 0)")
    assert fastpath.target(conn, "f")["identity"] == keys
    conn.close()
    assert mode(home) == 0o700 and mode(home / "state.db") == 0o600
    assert_moved_out(home, keys)


def token_file(folder: Path, text: str, file_mode: int = 0o600) -> Path:
    path = folder / f"token-{file_mode:o}"
    path.write_text(text + "\n")
    path.chmod(file_mode)
    return path


def visible_argv(pid: int) -> str:
    """What `ps` shows every local user of a process: its command line."""
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    listed = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True,
                            timeout=30).stdout
    return cmdline + "\n" + listed


def test_serve_token_from_file_or_environment_is_not_in_argv(op: Platform, tmp_path: Path) -> None:
    secret = "file-" + os.urandom(12).hex()
    with serve(op, "--token-file", str(token_file(tmp_path, secret)), token=secret) as api:
        assert secret not in visible_argv(api.proc.pid) and "--token-file" in visible_argv(api.proc.pid)
        assert httpx.get(f"{api.url}/runtimes").status_code == 401
        with api.client() as c:
            assert c.get("/runtimes").status_code == 200
    from_env = "env-" + os.urandom(12).hex()
    with serve(op, env={**op.env, "FAASCTL_TOKEN": from_env}, token=from_env) as api:
        assert from_env not in visible_argv(api.proc.pid)
        assert httpx.get(f"{api.url}/v1/functions", headers={"Authorization": "Bearer x"}).status_code == 401
        with api.client() as c:
            assert c.get("/v1/functions").status_code == 200


def test_serve_refuses_a_token_file_others_can_read(op: Platform, tmp_path: Path) -> None:
    shared = token_file(tmp_path, "s3cret", 0o644)
    proc = subprocess.run([*FAASCTL, "serve", "--token-file", str(shared), "--port", "1"], env=op.env, cwd=REPO,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "readable by other users" in proc.stderr and "chmod 600" in proc.stderr
    both = subprocess.run([*FAASCTL, "serve", "--token", "a", "--token-file", str(token_file(tmp_path, "b")),
                           "--port", "1"], env=op.env, cwd=REPO, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert both.returncode == 2 and "--token-file" in both.stderr
