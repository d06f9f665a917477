"""Issue 2's "done when", against a real Docker engine through the real CLI and agent."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.cli import cli
from tests.support.platform import FAASCTL, REPO, Platform

pytestmark = pytest.mark.integration


def write_fn(root: Path, body: str, requirements: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(body)
    if requirements:
        (root / "requirements.txt").write_text(requirements)
    return root


def invoke_json(platform: Platform, name: str, *args: str, check: bool = True, process: bool = False) -> dict:
    proc = platform.cli("invoke", name, "--json", *args, check=False, process=process)
    if check:
        assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_dice_command_mode_cold_then_warm(platform: Platform) -> None:
    platform.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
    first = invoke_json(platform, "dice", "-p", "roll=4d6")
    second = invoke_json(platform, "dice", "--data", '{"roll": "4d6"}')
    for call in (first, second):
        assert call["status"] == "DONE"
        dice = json.loads(call["result"])
        assert len(dice) == 4 and all(1 <= d <= 6 for d in dice)
        assert call["funcName"] == "dice" and call["params"] == {"roll": "4d6"} and call["node"] == "local"
    assert first["startKind"] == "cold"
    assert second["startKind"] == "warm"  # the same container served it
    plain = platform.cli("invoke", "dice", "-p", "roll=2d6").stdout.strip()
    assert len(json.loads(plain)) == 2
    listed = platform.cli("call", "get", str(second["callNum"]), "--json").stdout
    assert json.loads(listed)["result"] == second["result"]


def test_handler_mode_with_wheel_requirement(platform: Platform) -> None:
    out = platform.cli("fn", "deploy", "sizes", "examples/sizes", "--runtime", "python", "--handler", "main:handle")
    assert "deps installed" in out.stdout or "deps cached" in out.stdout
    call = invoke_json(platform, "sizes", "-p", "bytes=1048576")
    assert json.loads(call["result"]) == {"bytes": 1048576, "human": "1.0 MiB"}
    again = platform.cli("fn", "deploy", "sizes", "examples/sizes", "--runtime", "python", "--handler", "main:handle")
    assert "unchanged" in again.stdout


def test_slow_calls_of_two_functions_overlap(platform: Platform, tmp_path: Path) -> None:
    body = "import time\n\ndef handle(p):\n    t0 = time.time()\n    time.sleep(1.5)\n    return [t0, time.time()]\n"
    for name in ("slow-a", "slow-b"):
        write_fn(tmp_path / name, body)
        platform.cli("fn", "deploy", name, str(tmp_path / name), "--runtime", "python", "--handler", "main:handle",
                     "--min-warm", "1")
    results: dict[str, list[float]] = {}

    def call(name: str) -> None:
        results[name] = json.loads(invoke_json(platform, name, process=True)["result"])  # two CLIs at once

    threads = [threading.Thread(target=call, args=(n,)) for n in ("slow-a", "slow-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    (a0, a1), (b0, b1) = results["slow-a"], results["slow-b"]
    assert a0 < b1 and b0 < a1, f"calls ran one after the other: {results}"


def test_timeout_ends_call_and_removes_container(platform: Platform, tmp_path: Path, docker) -> None:
    write_fn(tmp_path / "sleepy", "import time\n\ndef handle(p):\n    time.sleep(60)\n")
    platform.cli("fn", "deploy", "sleepy", str(tmp_path / "sleepy"), "--runtime", "python", "--handler",
                 "main:handle", "--timeout", "1")
    proc = platform.cli("invoke", "sleepy", "--json", check=False)
    assert proc.returncode == 10, proc.stderr
    assert json.loads(proc.stdout)["status"] == "TIMEOUT"
    for _ in range(50):
        if not platform.containers(docker, "sleepy"):
            break
        time.sleep(0.2)
    assert platform.containers(docker, "sleepy") == []


def test_function_error_is_reported_with_logs(platform: Platform, tmp_path: Path) -> None:
    write_fn(tmp_path / "boom", "import sys\n\ndef handle(p):\n    print('about to fail', file=sys.stderr)\n"
             "    raise ValueError('no good')\n")
    platform.cli("fn", "deploy", "boom", str(tmp_path / "boom"), "--runtime", "python", "--handler", "main:handle")
    proc = platform.cli("invoke", "boom", "--json", check=False)
    assert proc.returncode == 9
    call = json.loads(proc.stdout)
    assert call["status"] == "ERROR" and "ValueError: no good" in call["error"]
    assert "about to fail" in platform.cli("logs", str(call["callNum"])).stdout


@pytest.mark.parametrize("hostile", ["dotdot", "absolute", "escaping-link", "not-an-archive"])
def test_hostile_archive_refused_and_nothing_stored(platform: Platform, tmp_path: Path, hostile: str) -> None:
    import io
    import tarfile

    path = tmp_path / "evil.tar.gz"
    if hostile == "not-an-archive":
        path.write_bytes(b"this is not an archive")
    else:
        with tarfile.open(path, "w:gz") as tf:
            info = tarfile.TarInfo("main.py")
            info.size = 4
            tf.addfile(info, io.BytesIO(b"x=1\n"))
            bad = tarfile.TarInfo({"dotdot": "../../etc/cron.d/x", "absolute": "/etc/passwd",
                                   "escaping-link": "link"}[hostile])
            if hostile == "escaping-link":
                bad.type, bad.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
                tf.addfile(bad)
            else:
                bad.size = 4
                tf.addfile(bad, io.BytesIO(b"evil"))
    before = sorted(p.name for p in (platform.home / "artifacts").iterdir())
    proc = platform.cli("fn", "deploy", "evil", str(path), "--runtime", "python", check=False)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: archive refused:"), proc.stderr
    assert "hint:" in proc.stderr
    assert sorted(p.name for p in (platform.home / "artifacts").iterdir()) == before
    assert "evil" not in platform.cli("fn", "list").stdout


def test_function_container_is_locked_down(platform: Platform, docker) -> None:
    platform.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
    invoke_json(platform, "dice")
    containers = [docker.containers.get(c["Id"]) for c in platform.containers(docker, "dice")]
    assert containers, "a warm container of dice should be running"
    attrs = containers[0].attrs
    host = attrs["HostConfig"]
    assert attrs["Config"]["User"] == "65534:65534"
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["PidsLimit"] and host["PidsLimit"] > 0
    assert host["Memory"] > 0 and host["Memory"] == host["MemorySwap"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    code = [m for m in attrs["Mounts"] if m["Destination"] == "/ws"]
    assert code and code[0]["RW"] is False
    probe = containers[0].exec_run(["sh", "-c", "touch /ws/x 2>&1; echo uid=$(id -u)"]).output.decode()
    assert "Read-only file system" in probe and "uid=65534" in probe
    assert containers[0].exec_run(["test", "-e", "/ws/x"]).exit_code != 0


def test_concurrent_cli_processes_lose_no_call(platform: Platform) -> None:
    platform.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
    ctx = platform.context()
    before = ctx.fast.execute("SELECT COUNT(*), COALESCE(MAX(call_num), 0) FROM call").fetchone()
    script = ("import sys\nfrom faasctl.core.context import Context\nfrom faasctl.core.invoke import invoke\n"
              "ctx = Context()\nfor i in range(25):\n    invoke(ctx, 'dice', {'roll': '1d6'})\n")
    procs = [subprocess.Popen([sys.executable, "-c", script], env=platform.env, cwd=REPO) for _ in range(2)]
    assert [p.wait(300) for p in procs] == [0, 0]
    count, _ = ctx.fast.execute("SELECT COUNT(*), MAX(call_num) FROM call").fetchone()
    assert count - before[0] == 50
    nums = [r[0] for r in ctx.fast.execute("SELECT call_num FROM call WHERE call_num > ?", (before[1],))]
    assert len(set(nums)) == 50
    statuses = {r[0] for r in ctx.fast.execute("SELECT status FROM call WHERE call_num > ?", (before[1],))}
    assert statuses == {"DONE"}


def test_errors_are_one_line_with_hint(platform: Platform) -> None:
    proc = cli("invoke", "no-such-fn", env=platform.env, check=False)  # in process: no boundary at stake
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[0] == "error: no function named 'no-such-fn'"
    assert proc.stderr.splitlines()[1].startswith("hint:")
    bad = cli("fn", "deploy", "Bad Name", "examples/dice", "--runtime", "python", env=platform.env, check=False)
    assert bad.returncode == 2 and "not a valid function name" in bad.stderr
    data = cli("invoke", "dice", "--data", "{not json", env=platform.env, check=False)
    assert data.returncode == 2 and "not valid JSON" in data.stderr


def test_node_list_shows_agent(platform: Platform) -> None:
    nodes = json.loads(platform.cli("node", "list", "--json").stdout)
    assert [n["name"] for n in nodes] == ["local"]
    assert nodes[0]["status"]["up"] is True
    assert subprocess.run([*FAASCTL, "--help"], capture_output=True, text=True).returncode == 0


def test_same_requirements_install_once_per_node(platform: Platform, tmp_path: Path) -> None:
    platform.cli("fn", "deploy", "sizes", "examples/sizes", "--runtime", "python", "--handler", "main:handle")
    copy = tmp_path / "sizes-copy"
    copy.mkdir()
    for item in ("requirements.txt", "main.py"):
        (copy / item).write_bytes((REPO / "examples/sizes" / item).read_bytes())
    (copy / "wheels").mkdir()
    for wheel in (REPO / "examples/sizes/wheels").iterdir():
        (copy / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
    (copy / "main.py").write_text((copy / "main.py").read_text() + "\n# a different function, same requirements\n")
    out = platform.cli("fn", "deploy", "sizes-copy", str(copy), "--runtime", "python", "--handler", "main:handle")
    assert "deps cached" in out.stdout
    assert json.loads(invoke_json(platform, "sizes-copy", "-p", "bytes=0")["result"])["human"] == "0 Bytes"


def test_agent_health_and_metrics_on_loopback(platform: Platform) -> None:
    import urllib.request

    node = json.loads(platform.cli("node", "list", "--json").stdout)[0]
    base = f"http://127.0.0.1:{node['http_port']}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:
        assert json.loads(resp.read())["ok"] is True
    platform.cli("fn", "deploy", "dice", "examples/dice", "--runtime", "python")
    invoke_json(platform, "dice")
    token = json.loads((platform.home / "nodes" / "local" / "agent.json").read_text())["http_token"]
    request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as resp:
        text = resp.read().decode()
    assert "faasctl_agent_calls_done_total" in text and 'faasctl_agent_containers{function="dice"}' in text


def test_seed_style_runtime_from_an_image(platform: Platform) -> None:
    image = json.loads(platform.cli("runtime", "list", "--json").stdout)[0]["image"]
    platform.cli("runtime", "add", "seedstyle", "--image", image, "--path", "/ws", "--dependencies",
                 "pip3 install -r requirements.txt", "--run", "python3 test.py")
    listed = {r["name"]: r for r in json.loads(platform.cli("runtime", "list", "--json").stdout)}
    assert listed["seedstyle"]["run"] == "python3 test.py" and listed["seedstyle"]["image"] == image
    platform.cli("fn", "deploy", "dice-seed", "examples/dice", "--runtime", "seedstyle")
    assert len(json.loads(platform.cli("invoke", "dice-seed", "-p", "roll=3d6").stdout)) == 3
    missing = platform.cli("runtime", "add", "ghost", "--image", "faasctl/no-such-image:1", "--run", "x",
                           check=False)
    assert missing.returncode == 3 and "cannot be pulled" in missing.stderr


def test_deploy_zip_and_tar_gz_archives_then_remove(platform: Platform, tmp_path: Path, docker) -> None:
    import tarfile
    import zipfile

    src = REPO / "examples" / "dice"
    zipped, tarred = tmp_path / "dice.zip", tmp_path / "dice.tar.gz"
    with zipfile.ZipFile(zipped, "w") as zf:
        for f in src.iterdir():
            zf.write(f, f"dice/{f.name}")  # wrapped in one top folder: stripped
    with tarfile.open(tarred, "w:gz") as tf:
        for f in src.iterdir():
            tf.add(f, f.name)
    first = json.loads(platform.cli("fn", "deploy", "dz", str(zipped), "--runtime", "python", "--json").stdout)
    second = json.loads(platform.cli("fn", "deploy", "dz", str(tarred), "--runtime", "python", "--json").stdout)
    assert first["digest"] == second["digest"] and second["changed"] is False and second["version"] == 1
    piped = platform.cli("invoke", "dz", input='{"roll": "2d4"}', process=True)  # stdin a real pipe
    assert json.loads(piped.stdout)[0] in range(1, 5)
    platform.cli("fn", "rm", "dz")
    assert "dz" not in platform.cli("fn", "list").stdout
    assert platform.containers(docker, "dz") == []
    gone = platform.cli("invoke", "dz", check=False)
    assert gone.returncode == 3
