"""Issue 9 on the agent side, through the real CLI, agent and Docker engine: volumes that
failed to fill, output and memory limits named, no engine-side log, the dependency key."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from faasctl_agent import archive

from tests.support.platform import Platform

pytestmark = pytest.mark.integration


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return root


def deploy(platform: Platform, name: str, src: Path, *opts: str, check: bool = True) -> Any:
    return platform.cli("fn", "deploy", name, str(src), "--runtime", "python", *opts, check=check)


def invoke(platform: Platform, name: str, *args: str) -> dict[str, Any]:
    proc = platform.cli("invoke", name, "--json", *args, check=False)
    assert proc.stdout, proc.stderr
    return dict(json.loads(proc.stdout))


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("error:")]


# item 4: a code volume that did not fill to the end is never trusted -------------------------
def test_unfinished_code_volume_is_refilled(platform: Platform, tmp_path: Path, docker: Any) -> None:
    """A volume left by a fill that died half way (here: created empty, as a crash would leave
    it) must not be taken for a finished one: the deploy fills it again and the code is there."""
    src = write(tmp_path / "halfway", {"test.py": "print('filled')\n"})
    digest = archive.sha256(archive.pack_dir(src))
    volume = f"faasctl-{platform.scope()}-code-{digest[:16]}"
    docker.api.create_volume(volume, labels={"faasctl.node": platform.scope()})
    deploy(platform, "halfway", src)
    call = invoke(platform, "halfway")
    assert call["status"] == "DONE" and call["result"] == "filled", call


def test_link_archive_fails_in_one_line_and_is_not_deployed_later(platform: Platform, tmp_path: Path) -> None:
    """The issue's archive: `sub/`, `ln -> sub`, `ln/through.txt`. Refused by the archive
    checker or failing in the fill, it must fail as one line with a hint both times."""
    path = tmp_path / "through.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for name, kind in (("test.py", "file"), ("sub", "dir"), ("ln", "link"), ("ln/through.txt", "file")):
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, "sub"
                tf.addfile(info)
            else:
                info.size = 4
                tf.addfile(info, io.BytesIO(b"x=1\n"))
    for _ in range(2):
        proc = deploy(platform, "through", path, check=False)
        assert proc.returncode != 0, proc.stdout
        assert "deployed" not in proc.stdout
        assert len(error_lines(proc.stderr)) == 1 and "hint:" in proc.stderr, proc.stderr
        assert "APIError" not in proc.stderr and "409" not in proc.stderr


# items 6 and 7: engine log, output, result and memory limits --------------------------------
def test_fd2_writes_leave_no_engine_log(platform: Platform, tmp_path: Path, docker: Any) -> None:
    body = ("import os\n\ndef handle(p):\n    for _ in range(64):\n        os.write(2, b'e' * (1 << 20))\n"
            "    return 'wrote'\n")
    deploy(platform, "fd2", write(tmp_path / "fd2", {"main.py": body}), "--handler", "main:handle")
    call = invoke(platform, "fd2")
    assert call["status"] == "DONE" and call["result"] == "wrote", call
    found = platform.containers(docker, "fd2")
    assert found
    attrs = docker.api.inspect_container(found[0]["Id"])
    assert attrs["HostConfig"]["LogConfig"]["Type"] == "none"
    assert not attrs.get("LogPath")  # no json-file on the host's disk at all


def test_big_stdout_is_named_output_over_limit(platform: Platform, tmp_path: Path) -> None:
    body = ("import sys\nchunk = 'o' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)\n"
            "sys.stdout.flush()\n")
    deploy(platform, "loud", write(tmp_path / "loud", {"test.py": body}), "--memory", "128")
    call = invoke(platform, "loud")
    assert call["status"] == "ERROR"
    assert "output over its limit" in call["error"] and "32 MiB" in call["error"], call["error"]
    assert invoke(platform, "loud")["status"] == "ERROR"  # the container is still usable


def test_big_result_is_refused_with_the_limit(platform: Platform, tmp_path: Path) -> None:
    body = "def handle(p):\n    return 'r' * int(p['n'])\n"
    deploy(platform, "bigres", write(tmp_path / "bigres", {"main.py": body}), "--handler", "main:handle",
           "--memory", "512")
    ok = invoke(platform, "bigres", "-p", f"n={5 * 1024 * 1024}")
    assert ok["status"] == "DONE" and len(ok["result"]) == 5 * 1024 * 1024
    over = invoke(platform, "bigres", "-p", f"n={40 * 1024 * 1024}")
    assert over["status"] == "ERROR"
    assert "result over its limit" in over["error"] and "32 MiB" in over["error"], over["error"]


HOG = "blocks = []\nfor _ in range(64):\n    blocks.append(bytearray(16 << 20))\n"


def test_memory_hog_command_is_named_out_of_memory(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, "hogcmd", write(tmp_path / "hogcmd", {"test.py": HOG}), "--memory", "64")
    call = invoke(platform, "hogcmd")
    assert call["status"] == "ERROR"
    assert "out of memory" in call["error"] and "64 MiB" in call["error"], call["error"]
    assert "status 137" not in call["error"].split("(")[0]


def test_memory_hog_handler_is_named_out_of_memory(platform: Platform, tmp_path: Path) -> None:
    body = "def handle(p):\n" + "".join("    " + ln + "\n" for ln in HOG.splitlines())
    deploy(platform, "hogfn", write(tmp_path / "hogfn", {"main.py": body}), "--handler", "main:handle",
           "--memory", "64")
    call = invoke(platform, "hogfn")
    assert call["status"] == "ERROR"
    assert "out of memory" in call["error"] and "64 MiB" in call["error"], call["error"]
    assert "container died" not in call["error"]


def test_endless_loop_and_fork_bomb_end_in_timeout(platform: Platform, tmp_path: Path) -> None:
    loop = "def handle(p):\n    n = 0\n    while n >= 0:\n        n += 1\n"
    bomb = ("import os, time\n\ndef handle(p):\n    for _ in range(100000):\n        try:\n"
            "            os.fork()\n        except OSError:\n            time.sleep(0.01)\n")
    for name, body in (("spin", loop), ("forkbomb", bomb)):
        deploy(platform, name, write(tmp_path / name, {"main.py": body}), "--handler", "main:handle",
               "--timeout", "3")
        assert invoke(platform, name)["status"] == "TIMEOUT"


# item 10: the dependency key covers included files --------------------------------------------
def wheel(version: str) -> bytes:
    """A minimal pure-Python wheel of `mypkg`, built in memory."""
    dist = f"mypkg-{version}.dist-info"
    files = {"mypkg/__init__.py": f"VERSION = {version!r}\n".encode(),
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: mypkg\nVersion: {version}\n".encode(),
             f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: faasctl-tests\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n"}
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_included_requirements_change_reinstalls(platform: Platform, tmp_path: Path) -> None:
    src = write(tmp_path / "picky", {
        "test.py": "import mypkg\nprint(mypkg.VERSION)\n",
        "requirements.txt": "--no-index\n--find-links wheels\n-r pick.txt\n",
        "pick.txt": "mypkg==1.0\n",
        "wheels/mypkg-1.0-py3-none-any.whl": wheel("1.0"),
        "wheels/mypkg-2.0-py3-none-any.whl": wheel("2.0"),
    })
    first = deploy(platform, "picky", src)
    assert "deps installed" in first.stdout or "deps cached" in first.stdout, first.stdout
    assert invoke(platform, "picky")["result"] == "1.0"
    (src / "pick.txt").write_text("mypkg==2.0\n")
    second = deploy(platform, "picky", src)
    assert "deps installed" in second.stdout, second.stdout
    assert invoke(platform, "picky")["result"] == "2.0"
