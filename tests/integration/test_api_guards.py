"""Guards of `faasctl serve`: oversized, malformed and hostile requests are refused with a
JSON error that says what to fix, and leave the state file exactly as it was; a token is
required when one is set, and listening beyond loopback without one is refused."""

from __future__ import annotations

import io
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from tests.support.apiserver import ApiServer, dump_state, serve, tar_gz
from tests.support.platform import FAASCTL, REPO, Platform

pytestmark = pytest.mark.integration

LIMIT = 64 * 1024  # --max-body-mb 0.0625


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[ApiServer]:
    with serve(platform, "--max-body-mb", "0.0625") as server:
        yield server


@pytest.fixture
def c(api: ApiServer) -> Iterator[httpx.Client]:
    with api.client() as client:
        yield client


def hostile_tar(kind: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        ok = tarfile.TarInfo("test.py")
        ok.size = 2
        tf.addfile(ok, io.BytesIO(b"#\n"))
        bad = tarfile.TarInfo({"dotdot": "../x", "absolute": "/tmp/x", "symlink": "passwd"}[kind])
        if kind == "symlink":
            bad.type, bad.linkname = tarfile.SYMTYPE, "/etc/passwd"
        else:
            bad.size = 2
        tf.addfile(bad, io.BytesIO(b"x\n") if kind != "symlink" else None)
    return buf.getvalue()


def zip_with(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("test.py", "#\n")
        zf.writestr(name, "x\n")
    return buf.getvalue()


def assert_refused(resp: httpx.Response, status: int) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/json")
    assert isinstance(body["error"], str) and body["error"], body
    assert "hint" in body


def test_oversized_bodies_get_413_and_change_nothing(platform: Platform, c: httpx.Client) -> None:
    before = dump_state(platform)
    big = b"\0" * (LIMIT + 1)
    assert_refused(c.post("/registerFunction/python/big", files={"module": ("big.tar.gz", big)}), 413)
    assert_refused(c.put("/v1/functions/big", data={"runtime": "python"}, files={"archive": ("a.zip", big)}), 413)
    assert_refused(c.post("/invokeFunction", content=b'{"funcName": "dice", "params": "' + big + b'"}',
                          headers={"Content-Type": "application/json"}), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is judged as it streams
        for _ in range(LIMIT // 4096 + 2):
            yield b"x" * 4096

    assert_refused(c.post("/invokeFunction", content=chunks(), headers={"Content-Type": "application/json"}), 413)
    assert dump_state(platform) == before


def test_malformed_and_unknown_get_4xx_and_change_nothing(platform: Platform, c: httpx.Client) -> None:
    platform.cli("fn", "deploy", "guard-dice", "examples/dice", "--runtime", "python")
    before = dump_state(platform)
    json_h = {"Content-Type": "application/json"}
    assert_refused(c.post("/invokeFunction", content=b'{"funcName": "guard-dice", ', headers=json_h), 422)
    assert_refused(c.post("/invokeFunction", content=b'{"funcName": 7}', headers=json_h), 422)
    assert_refused(c.post("/invokeFunction", content=b'{"funcName": "guard-dice", "params": NaN}', headers=json_h),
                   400)
    assert_refused(c.post("/invokeFunction", json={"funcName": "no-such-fn", "params": {}}), 404)
    assert_refused(c.post("/v1/functions/no-such-fn/invocations", json={"params": {}}), 404)
    assert_refused(c.post("/v1/functions/guard-dice/invocations", json={"params": {}, "bogus": 1}), 422)
    assert_refused(c.post("/registerRuntime", content=b"not json", headers=json_h), 422)
    assert_refused(c.post("/registerRuntime", json={"image": "///"}), 400)  # no name can be derived
    assert_refused(c.post("/registerRuntime", json={"image": "pythonruntime", "path": "relative"}), 400)
    assert_refused(c.post("/v1/runtimes", json={"name": "Bad Name!", "image": "x"}), 422)
    dice = tar_gz(REPO / "examples" / "dice")
    assert_refused(c.post("/registerFunction/no-such-rt/guard-x", files={"module": ("d.tar.gz", dice)}), 404)
    assert_refused(c.post("/registerFunction/python/Bad%20Name", files={"module": ("d.tar.gz", dice)}), 400)
    assert_refused(c.post("/registerFunction/python/guard-x", files={"module": ("d.tar.gz", b"not an archive")}), 400)
    assert_refused(c.post("/registerFunction/python/guard-x", data={"other": "field"}), 422)  # no `module`
    assert_refused(c.put("/v1/functions/guard-x", data={"runtime": "python", "preload": "sometimes"},
                         files={"archive": ("d.tar.gz", dice)}), 422)
    assert_refused(c.put("/v1/functions/guard-x", data={"runtime": "python", "timeout": "-1"},
                         files={"archive": ("d.tar.gz", dice)}), 400)
    assert_refused(c.get("/call/999999999"), 404)
    assert_refused(c.get("/call/0"), 422)
    assert_refused(c.get("/v1/calls", params={"status": "MAYBE"}), 422)
    assert_refused(c.delete("/v1/runtimes/python"), 409)  # functions use it
    assert_refused(c.get("/no/such/route"), 404)
    assert dump_state(platform) == before


@pytest.mark.parametrize("archive", [hostile_tar("dotdot"), hostile_tar("absolute"), hostile_tar("symlink"),
                                     zip_with("../x"), zip_with("/etc/x")],
                         ids=["tar-dotdot", "tar-absolute", "tar-symlink-out", "zip-dotdot", "zip-absolute"])
def test_hostile_archives_are_refused_and_change_nothing(platform: Platform, c: httpx.Client, archive: bytes) -> None:
    before = dump_state(platform)
    seed = c.post("/registerFunction/python/hostile", files={"module": ("evil.tar.gz", archive)})
    assert_refused(seed, 400)
    assert "archive refused" in seed.json()["error"]
    assert_refused(c.put("/v1/functions/hostile", data={"runtime": "python"},
                         files={"archive": ("evil.tar.gz", archive)}), 400)
    assert c.get("/v1/functions/hostile").status_code == 404
    assert dump_state(platform) == before


def test_token_is_required_when_set(platform: Platform) -> None:
    with serve(platform, "--token", "s3cret", token="s3cret") as api:
        assert_refused(httpx.get(f"{api.url}/runtimes"), 401)
        assert_refused(httpx.get(f"{api.url}/openapi.json", headers={"Authorization": "Bearer wrong"}), 401)
        assert_refused(httpx.post(f"{api.url}/invokeFunction", json={"funcName": "dice"}), 401)
        with api.client() as c:
            assert c.get("/runtimes").status_code == 200
    with serve(platform, env={**platform.env, "FAASCTL_API_TOKEN": "from-env"}, token="from-env") as api:
        assert_refused(httpx.get(f"{api.url}/v1/functions"), 401)
        with api.client() as c:
            assert c.get("/v1/functions").status_code == 200


def test_listening_beyond_loopback_without_token_is_refused(platform: Platform) -> None:
    env = {k: v for k, v in platform.env.items() if k != "FAASCTL_API_TOKEN"}
    proc = subprocess.run([*FAASCTL, "serve", "--host", "0.0.0.0", "--port", "1"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "token" in proc.stderr and "hint:" in proc.stderr
