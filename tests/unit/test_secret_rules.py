"""Issue 13's pure parts: the env and secret-name rules both sides share, the operator's
0600 value files, and Pool.recycle (stand-in workers; real containers in
tests/integration/test_secrets.py)."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from faasctl_agent.fnconfig import (
    SECRET_MAX_BYTES,
    SECRETS_MAX,
    ConfigError,
    check_env,
    check_secret_names,
    check_secret_value,
)
from faasctl_agent.secretstore import SecretStore

from faasctl.errors import NotFound
from faasctl.state import secretfiles
from tests.unit.test_pool import make_pool


@pytest.mark.parametrize("env, words", [
    ({"1X": "a"}, "not an environment variable name"),
    ({"A-B": "a"}, "not an environment variable name"),
    ({"A": "x\x00y"}, "without NUL"),
    ({"PYTHONPATH": "/x"}, "set by faasctl"),
    ({"FAASCTL_NODE": "x"}, "set by faasctl"),
    ({f"V{i}": "x" for i in range(129)}, "the limits are"),
    ({"BIG": "x" * (64 * 1024)}, "the limits are"),
])
def test_bad_env_refused_with_hint(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words) as info:
        check_env(env)
    assert info.value.hint


def test_env_and_names_accepted_and_normalised() -> None:
    assert check_env({"A_b1": "x=y", "_U": ""}) == {"A_b1": "x=y", "_U": ""}
    assert check_env(None) == {}
    assert check_secret_names(["b", "a", "b"]) == ["a", "b"]
    for bad in (["../x"], ["A"], [".hidden"], ["x\n"], "a"):
        with pytest.raises(ConfigError):
            check_secret_names(bad)
    with pytest.raises(ConfigError, match="at most"):
        check_secret_names([f"s{i}" for i in range(SECRETS_MAX + 1)])
    with pytest.raises(ConfigError, match="empty"):
        check_secret_value("s", b"")
    with pytest.raises(ConfigError, match="limit"):
        check_secret_value("s", b"x" * (SECRET_MAX_BYTES + 1))


def test_value_files_are_private_on_both_sides(tmp_path: Path) -> None:
    operator = tmp_path / "home" / "secrets"
    secretfiles.write(operator, "db", b"one")
    secretfiles.write(operator, "db", b"two")  # replaced atomically, no temporary left
    assert secretfiles.read(operator, "db") == b"two"
    assert list(secretfiles.listing(operator)) == ["db"]
    node = SecretStore(tmp_path / "agent" / "secrets")
    node.put("db", b"two")
    assert node.values(["db"], "n1") == {"db": "dHdv"}
    for folder in (operator, node.folder):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert [p.name for p in folder.iterdir()] == ["db"]
        assert stat.S_IMODE((folder / "db").stat().st_mode) == 0o600
    secretfiles.remove(operator, "db")
    with pytest.raises(NotFound, match="no secret named 'db'"):
        secretfiles.read(operator, "db")
    assert node.remove("db") and not node.remove("db")


def test_recycle_retires_idle_now_and_busy_after_their_call() -> None:
    async def scenario() -> None:
        pool, started, stopped = make_pool()
        a, b = await pool.acquire(), await pool.acquire()
        pool.release(a.worker, healthy=True)  # a idle, b busy
        assert pool.recycle() == 2
        await asyncio.sleep(0)
        assert stopped == [a.worker] and pool.idle == []
        pool.release(b.worker, healthy=True)  # its call finished: retired, not kept warm
        await asyncio.sleep(0)
        assert stopped == [a.worker, b.worker]
        c = await pool.acquire()
        assert c.kind == "cold" and c.worker is started[2]
        pool.release(c.worker, healthy=True)
        assert pool.idle == [c.worker]  # started after the recycle: kept

    asyncio.run(scenario())
