"""Issue 13 section 4 on one real node: env per version, secrets as files, rotation, and
the value nowhere else (docker inspect, state file, agent journal and log, call records,
--json outputs)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.platform import Platform
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

# Reports what the function sees; a secret's content only as its digest, so the value
# itself never enters a call record and the tests can grep for it everywhere.
PROBE = '''import errno, hashlib, json, os, sys, time
D = "/var/run/secrets/faasctl"


def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as exc:
        return errno.errorcode[exc.errno]


def handle(p):
    p = p or {}
    time.sleep(float(p.get("sleep", 0)))
    out = {"uid": os.getuid(), "gid": os.getgid(), "env": {k: os.environ.get(k) for k in p.get("env", [])}}
    for name in p.get("secrets", []):
        path = os.path.join(D, name)
        st = os.stat(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        out[name] = {"sha256": digest, "mode": oct(st.st_mode & 0o777), "uid": st.st_uid, "gid": st.st_gid,
                     "write": attempt(lambda: open(path, "ab").close()),
                     "chmod": attempt(lambda: os.chmod(path, 0o644)), "unlink": attempt(lambda: os.unlink(path)),
                     "create": attempt(lambda: open(D + "/x", "w").close())}
    if os.path.isdir(D):
        st = os.stat(D)
        mounts = [ln.split() for ln in open("/proc/mounts")]
        out["dir"] = {"mode": oct(st.st_mode & 0o777), "uid": st.st_uid, "gid": st.st_gid,
                      "fs": [m[2] for m in mounts if m[1] in (D, "/run/secrets/faasctl")]}
    return out


if __name__ == "__main__":  # command mode: the same probe, params on stdin
    print(json.dumps(handle(json.load(sys.stdin))))
'''


def source(tmp_path: Path, name: str) -> Path:
    src = tmp_path / name
    src.mkdir(exist_ok=True)
    (src / "main.py").write_text(PROBE + f"# {name}\n")  # an archive (and artifact) of its own
    (src / "test.py").write_text("from main import *\nimport main, json, sys\n"
                                 "print(json.dumps(main.handle(json.load(sys.stdin))))\n")
    return src


def deploy(platform: Platform, tmp_path: Path, name: str, *opts: str, handler: bool = True,
           check: bool = True) -> Any:
    args = ["fn", "deploy", name, str(source(tmp_path, name)), "--runtime", "python", "--json", *opts]
    proc = platform.cli(*args, *(("--handler", "main:handle") if handler else ()), check=check)
    return json.loads(proc.stdout) if proc.returncode == 0 else proc


def probe(platform: Platform, name: str, **params: Any) -> dict[str, Any]:
    proc = platform.cli("invoke", name, "--json", "--data", json.dumps(params))
    call = json.loads(proc.stdout)
    assert call["status"] == "DONE", call
    return {**json.loads(call["result"]), "_call": call}


def set_secret(platform: Platform, name: str, value: bytes, *opts: str) -> dict[str, Any]:
    path = platform.home.parent / f"{name}.value"
    path.write_bytes(value)
    try:
        return json.loads(platform.cli("secret", "set", name, "--from-file", str(path), "--json", *opts).stdout)
    finally:
        path.unlink()


def sha(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def test_env_per_version_in_handler_and_command_mode(platform: Platform, tmp_path: Path) -> None:
    first = deploy(platform, tmp_path, "cfg-env", "--env", "GREETING=hi", "--env", "EXPR=a=b")
    assert first["env"] == {"GREETING": "hi", "EXPR": "a=b"} and first["changed"]
    assert probe(platform, "cfg-env", env=["GREETING", "EXPR"])["env"] == {"GREETING": "hi", "EXPR": "a=b"}
    cmd = deploy(platform, tmp_path, "cfg-env-cmd", "--env", "GREETING=from-command", handler=False)
    assert cmd["mode"] == "command"
    assert probe(platform, "cfg-env-cmd", env=["GREETING"])["env"] == {"GREETING": "from-command"}

    second = deploy(platform, tmp_path, "cfg-env", "--env", "GREETING=bye")
    assert second["changed"] and second["version"] == first["version"] + 1 and second["digest"] == first["digest"]
    assert probe(platform, "cfg-env", env=["GREETING", "EXPR"])["env"] == {"GREETING": "bye", "EXPR": None}
    same = deploy(platform, tmp_path, "cfg-env")  # no --env: the current version's is kept
    assert not same["changed"] and same["env"] == {"GREETING": "bye"}
    cleared = deploy(platform, tmp_path, "cfg-env", "--no-env")
    assert cleared["changed"] and cleared["env"] == {}
    assert probe(platform, "cfg-env", env=["GREETING"])["env"] == {"GREETING": None}
    rows = platform.context().fast.execute(
        "SELECT version, env FROM function_config WHERE function_name='cfg-env' ORDER BY version").fetchall()
    assert [(v, json.loads(e)) for v, e in rows] == [(first["version"], {"GREETING": "hi", "EXPR": "a=b"}),
                                                     (second["version"], {"GREETING": "bye"})]


@pytest.mark.parametrize("preload", ["none", "runtime", "function"])
def test_secret_is_a_read_only_file_of_the_function(platform: Platform, tmp_path: Path, preload: str) -> None:
    name, value = f"sec-{preload}", secrets.token_bytes(48) + b"\n\x00end"
    set_secret(platform, f"file-{preload}", value)
    deploy(platform, tmp_path, name, "--secret", f"file-{preload}", "--preload", preload, "--env", "A=1")
    if preload == "runtime":  # the first call specialises a started stem cell (root until init)
        def stems() -> int:
            return sum(json.loads(platform.cli("node", "status", "local", "--json").stdout)["stem_cells"].values())
        assert wait_until(lambda: stems() >= 1, 30.0)
    seen = probe(platform, name, secrets=[f"file-{preload}"], env=["A"])
    if preload == "runtime":
        assert seen["_call"]["startKind"] == "prewarm"
    got = seen[f"file-{preload}"]
    assert got["sha256"] == sha(value)
    assert (got["mode"], got["uid"], got["gid"]) == ("0o440", 0, 65534)
    assert (seen["uid"], seen["gid"]) == (65534, 65534)
    assert (got["write"], got["chmod"], got["unlink"], got["create"]) == ("EACCES", "EPERM", "EACCES", "EACCES")
    assert seen["dir"] == {"mode": "0o750", "uid": 0, "gid": 65534, "fs": ["tmpfs"]}
    assert seen["env"] == {"A": "1"}
    cmd = deploy(platform, tmp_path, f"{name}-cmd", "--secret", f"file-{preload}", "--preload", preload,
                 handler=False)
    assert cmd["secrets"] == [f"file-{preload}"]
    assert probe(platform, f"{name}-cmd", secrets=[f"file-{preload}"])[f"file-{preload}"]["sha256"] == sha(value)


def test_the_value_appears_nowhere_else(platform: Platform, tmp_path: Path, docker: Any) -> None:
    value = f"v-{secrets.token_hex(20)}".encode()
    needles = [value, base64.b64encode(value), value.hex().encode()]
    outputs = [json.dumps(set_secret(platform, "hidden", value))]
    for preload in ("function", "runtime"):
        outputs.append(json.dumps(deploy(platform, tmp_path, f"hide-{preload}", "--secret", "hidden",
                                         "--preload", preload)))
        call = probe(platform, f"hide-{preload}", secrets=["hidden"])
        assert call["hidden"]["sha256"] == sha(value)
        num = str(call["_call"]["callNum"])
        outputs += [json.dumps(call["_call"]), platform.cli("call", "get", num, "--json").stdout,
                    platform.cli("logs", num).stdout]
    outputs += [platform.cli(*cmd, "--json").stdout for cmd in
                (("call", "list"), ("fn", "list"), ("secret", "list"), ("node", "status", "local"))]
    outputs.append(json.dumps(set_secret(platform, "hidden", value, "--restart")))
    for text in outputs:
        assert not any(n.decode() in text for n in needles)
    inspected = [docker.api.inspect_container(c["Id"]) for f in ("hide-function", "hide-runtime")
                 for c in platform.containers(docker, f)]
    assert inspected, "the functions' containers should be running"
    for attrs in inspected:
        assert not any(n.decode() in json.dumps(attrs) for n in needles)
        assert attrs["Config"]["User"] == "0:0" and attrs["HostConfig"]["CapAdd"] == ["SETUID", "SETGID"]
        assert "/var/run/secrets/faasctl" in attrs["HostConfig"]["Tmpfs"]
    # Every file of the operator's home and of the agent's home (state file, journal, log,
    # artifacts) except the two secret stores, which hold it 0600 in 0700 folders.
    stores = [platform.home / "secrets", platform.home / "nodes" / "local" / "secrets"]
    for store in stores:
        assert stat.S_IMODE(store.stat().st_mode) == 0o700
        assert stat.S_IMODE((store / "hidden").stat().st_mode) == 0o600
        assert (store / "hidden").read_bytes() == value
    searched = 0
    for root, _dirs, files in os.walk(platform.home):
        if any(Path(root).is_relative_to(s) for s in stores):
            continue
        for file in files:
            try:
                regular = stat.S_ISREG((Path(root) / file).lstat().st_mode)
            except FileNotFoundError:  # a runner socket, deleted once its container connected
                continue
            if not regular:
                continue  # a starting container's runner socket (sockdirs.py): no bytes to read, nor hold
            data = (Path(root) / file).read_bytes()
            searched += 1
            assert not any(n in data for n in needles), Path(root) / file
    names = {p.name for p in platform.home.rglob("*")}
    assert {"state.db", "journal.db", "agent.log"} <= names and searched > 5


def test_rotation_reaches_new_containers_and_restart_recycles_warm_ones(platform: Platform, tmp_path: Path) -> None:
    set_secret(platform, "rotated", b"one")
    deploy(platform, tmp_path, "rot", "--secret", "rotated", "--min-warm", "1")
    assert probe(platform, "rot", secrets=["rotated"])["rotated"]["sha256"] == sha(b"one")
    told = set_secret(platform, "rotated", b"two")  # without --restart: the warm container keeps the old value
    assert told["functions"] == ["rot"] and told["nodes"] == {"local": {"recycled": 0}}
    warm = probe(platform, "rot", secrets=["rotated"])
    assert warm["_call"]["startKind"] == "warm" and warm["rotated"]["sha256"] == sha(b"one")

    # A slow call runs while the value changes with --restart: it finishes in its old container.
    slow: dict[str, Any] = {}
    params = json.dumps({"secrets": ["rotated"], "sleep": 3})
    caller = threading.Thread(target=lambda: slow.update(json.loads(platform.cli(
        "invoke", "rot", "--json", "--data", params, process=True).stdout)))
    caller.start()
    assert wait_until(lambda: json.loads(platform.cli("node", "status", "local", "--json").stdout)["running"] >= 1,
                      30.0)
    restarted = set_secret(platform, "rotated", b"three", "--restart")
    assert restarted["nodes"]["local"]["recycled"] >= 1
    caller.join(60)
    assert slow["status"] == "DONE" and json.loads(slow["result"])["rotated"]["sha256"] == sha(b"one")
    assert probe(platform, "rot", secrets=["rotated"])["rotated"]["sha256"] == sha(b"three")


def one_error(proc: Any, code: int, text: str) -> None:
    """One `error:` line naming `text`, then one `hint:` line (a progress line may come before)."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(("error:", "hint:"))]
    assert proc.returncode == code, proc.stderr
    assert len(lines) == 2 and lines[0].startswith("error: ") and text in lines[0], proc.stderr
    assert lines[1].startswith("hint: ") and "Traceback" not in proc.stderr, proc.stderr


def test_bad_inputs_are_one_line_and_change_nothing(platform: Platform, tmp_path: Path) -> None:
    one_error(platform.cli("secret", "set", "Bad Name", check=False, input="x"), 2, "not a valid secret name")
    one_error(platform.cli("secret", "set", "empty", check=False, input="\n"), 2, "is empty")
    one_error(platform.cli("secret", "rm", "never-set", check=False), 3, "no secret named 'never-set'")
    set_secret(platform, "kept", b"k")
    before = deploy(platform, tmp_path, "cfg-bad", "--secret", "kept", "--env", "A=1")
    artifacts = sorted(p.name for p in (platform.home / "artifacts").iterdir())
    for opts, code, text in [
        (("--secret", "missing"), 3, "no secret named 'missing'"),
        (("--secret", "Bad/Name"), 2, "not a valid secret name"),
        (("--env", "1BAD=x"), 2, "not an environment variable name"),
        (("--env", "PYTHONPATH=/x"), 2, "set by faasctl"),
        (("--env", "NOEQUALS"), 2, "is not KEY=VALUE"),
        (("--env", "A=2", "--no-env"), 2, "--no-env goes without --env"),
    ]:
        one_error(deploy(platform, tmp_path, "cfg-bad", *opts, check=False), code, text)
        one_error(deploy(platform, tmp_path, "cfg-new", *opts, check=False), code, text)
    after = json.loads(platform.cli("fn", "list", "--json").stdout)
    assert sorted(p.name for p in (platform.home / "artifacts").iterdir()) == artifacts  # cfg-new's not cached
    assert "cfg-new" not in {f["name"] for f in after}
    current = next(f for f in after if f["name"] == "cfg-bad")
    assert current["version"] == before["version"]
    assert probe(platform, "cfg-bad", env=["A"], secrets=["kept"])["env"] == {"A": "1"}
    one_error(platform.cli("secret", "rm", "kept", check=False), 4, "used by function cfg-bad")
    assert "kept" in {s["name"] for s in json.loads(platform.cli("secret", "list", "--json").stdout)}
    deploy(platform, tmp_path, "cfg-bad", "--no-secrets")
    platform.cli("secret", "rm", "kept")
    assert not (platform.home / "secrets" / "kept").exists()
    assert not (platform.home / "nodes" / "local" / "secrets" / "kept").exists()
