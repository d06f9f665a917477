"""The runner's socket channel (issue 12) through the real agent and Docker engine: warm
calls skip dockerd's relay without loosening the container's lockdown, a stem cell
connects before it drops privileges, a dead runner's stderr still reaches its call, and
an engine that cannot see the agent's folder makes the agent fall back to attach."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support.platform import Platform
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

PROBE = '''import os, socket

def handle(p):
    try:
        open("/run/faasctl/planted", "w")
        wrote = "wrote"
    except OSError as exc:
        wrote = type(exc).__name__ + ": " + str(exc)
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect("/run/faasctl/agent.sock")
        again = "connected"
    except OSError as exc:
        again = type(exc).__name__
    return {"uid": os.getuid(), "wrote": wrote, "again": again, "listing": _listing()}

def _listing():
    try:
        return os.listdir("/run/faasctl")
    except OSError as exc:
        return type(exc).__name__
'''


def deploy(platform: Platform, tmp_path: Path, name: str, body: str, *opts: str) -> None:
    src = tmp_path / name
    src.mkdir()
    (src / "main.py").write_text(body)
    platform.cli("fn", "deploy", name, str(src), "--runtime", "python", "--handler", "main:handle", *opts)


def invoke(platform: Platform, name: str, *args: str) -> dict[str, Any]:
    return dict(json.loads(platform.cli("invoke", name, "--json", *args, check=False).stdout))


def counters(platform: Platform) -> dict[str, int]:
    return dict(json.loads(platform.cli("node", "status", "local", "--json").stdout)["counters"])


def test_warm_calls_use_the_socket_and_the_lockdown_holds(platform: Platform, tmp_path: Path, docker: Any) -> None:
    before = counters(platform).get("channels_socket", 0)
    deploy(platform, tmp_path, "sockprobe", PROBE)
    first, second = invoke(platform, "sockprobe"), invoke(platform, "sockprobe")
    assert (first["startKind"], second["startKind"]) == ("cold", "warm")
    assert counters(platform)["channels_socket"] == before + 1
    seen = json.loads(second["result"])
    assert seen["uid"] == 65534
    # read-only, 0711, and deleted on the host by now: nothing can be planted there
    assert seen["wrote"].startswith(("OSError", "PermissionError", "FileNotFoundError")), seen
    assert seen["again"] in ("FileNotFoundError", "ConnectionRefusedError"), seen  # accepted once, then gone
    assert seen["listing"] in ([], "PermissionError"), seen
    (found,) = platform.containers(docker, "sockprobe")
    attrs = docker.api.inspect_container(found["Id"])
    mount = next(m for m in attrs["Mounts"] if m["Destination"] == "/run/faasctl")
    assert mount["RW"] is False and mount["Type"] == "bind"
    assert not Path(mount["Source"]).exists()  # removed on the host once the runner connected
    home = platform.home / "nodes" / "local"
    assert (home / "run").stat().st_mode & 0o777 == 0o700 and home.stat().st_mode & 0o077 == 0
    host = attrs["HostConfig"]
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"] and attrs["Config"]["User"] == "65534:65534"


def test_stem_cell_connects_then_drops_privileges(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, tmp_path, "sockstem", PROBE, "--preload", "runtime")
    call = invoke(platform, "sockstem")
    assert call["status"] == "DONE" and call["startKind"] in ("prewarm", "cold"), call
    assert json.loads(call["result"])["uid"] == 65534
    assert invoke(platform, "sockstem")["startKind"] == "warm"


def test_dead_runner_error_carries_its_stderr(platform: Platform, tmp_path: Path) -> None:
    """The runner dies in a warm call (the callback path): its socket ends before dockerd
    has relayed its last stderr, and the call's error and log still carry both."""
    body = ("import os\n\ndef handle(p):\n    if p and p.get('die'):\n"
            "        os.write(2, b'last words before exit\\n')\n        os._exit(3)\n    return 'alive'\n")
    deploy(platform, tmp_path, "sockdies", body)
    assert invoke(platform, "sockdies")["result"] == "alive"
    before = counters(platform).get("warm_callback_calls", 0)
    call = invoke(platform, "sockdies", "-p", "die=1")
    assert counters(platform)["warm_callback_calls"] == before + 1
    assert call["status"] == "ERROR" and call["startKind"] == "warm", call
    assert "exited with status 3" in call["error"], call
    logs = platform.cli("logs", str(call["callNum"])).stdout
    assert "last words before exit" in logs, logs
    again = invoke(platform, "sockdies")
    assert (again["status"], again["startKind"], again["result"]) == ("DONE", "cold", "alive"), again


def test_warm_call_past_its_timeout_is_ended_and_its_container_removed(platform: Platform, tmp_path: Path,
                                                                        docker: Any) -> None:
    body = "import time\n\ndef handle(p):\n    time.sleep(float((p or {}).get('s', 0)))\n    return 'done'\n"
    deploy(platform, tmp_path, "socktime", body, "--timeout", "1")
    assert invoke(platform, "socktime")["startKind"] == "cold"
    (first,) = platform.containers(docker, "socktime")
    before = counters(platform).get("warm_callback_calls", 0)
    call = invoke(platform, "socktime", "-p", "s=5")
    assert counters(platform)["warm_callback_calls"] == before + 1
    assert (call["status"], call["startKind"]) == ("TIMEOUT", "warm"), call
    assert "no result within 1" in call["error"], call
    assert wait_until(lambda: all(c["Id"] != first["Id"] for c in platform.containers(docker, "socktime")))
    again = invoke(platform, "socktime")
    assert (again["status"], again["startKind"]) == ("DONE", "cold"), again


FALLBACK = textwrap.dedent('''
    import asyncio, json, sys
    from pathlib import Path
    from faasctl_agent.config import AgentConfig
    from faasctl_agent.executor import ContainerSpec, Executor
    from faasctl_agent.workers import Workers

    async def main():
        config = AgentConfig(name="fallback", home=Path(sys.argv[1]), instance=sys.argv[2])
        executor = Executor(config.scope)
        counts = {}

        def count(name, n=1):
            counts[name] = counts.get(name, 0) + n

        workers = Workers(config, executor, count, lambda digest: b"")
        workers.sockets.sweep()
        image = sys.argv[3]
        stem = ContainerSpec(image=image, path="/ws", code_volume=None, runner_volume=executor.runner_volume(image))
        try:
            worker = await workers.start(None, stem)
            spec = {"name": "fallback", "mode": "command", "path": "/ws", "run": "cat", "handler": ""}
            await workers.init_runner(worker.channel, spec, {"user": "65534:65534"})
            reply = await worker.channel.request({"op": "call", "id": "c1", "params": {"via": "attach"}}, 60)
            # the callback form the server's warm path uses, on the attach channel
            got = asyncio.get_running_loop().create_future()
            worker.channel.submit({"op": "call", "id": "c2", "params": 2}, 60,
                                  lambda r, e: got.set_result(r if e is None else repr(e)))
            called = await asyncio.wait_for(got, 60)
            print(json.dumps({"kind": worker.channel.kind, "sockets": workers.sockets.enabled,
                              "result": reply.get("result"), "called": called.get("result"), "counts": counts}))
            worker.channel.close()
        finally:
            executor.remove_all()
            executor.remove_volumes()

    asyncio.run(main())
''')


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare(1)")
def test_engine_that_cannot_see_the_socket_folder_falls_back_to_attach(tmp_path: Path, docker: Any) -> None:
    """The agent runs in a mount namespace of its own with its home on a tmpfs: its folders
    exist for it and not for dockerd, as for an agent in a node container."""
    home = tmp_path / "home"
    home.mkdir()
    script = tmp_path / "fallback.py"
    script.write_text(FALLBACK)
    args = f"{script} {home} fb{os.getpid()} faasctl/base:bookworm"
    inner = f"mount -t tmpfs tmpfs {home} && exec {sys.executable} {args}"
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", inner],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["kind"] == "attach" and seen["sockets"] is False, seen
    assert seen["result"] == '{"via": "attach"}' and seen["called"] == "2", seen
    assert seen["counts"] == {"containers_started": 1, "channels_attach": 1}, seen
    assert "runner sockets off" in proc.stderr or seen["sockets"] is False
