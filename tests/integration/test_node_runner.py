"""The Node.js runner's protocol, limits and stem-cell unpacking, spoken to directly.

runner.js runs in the built-in node runtime's image under `docker run -i`, locked down as
the agent locks function containers down, and this test speaks the runner protocol to it
over stdin and stdout, as the agent does over the attach stream: the same replies and
limits as runner.py, and a stem cell that refuses links and paths leaving its target.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faasctl_agent import archive

from tests.support.platform import Platform

pytestmark = pytest.mark.integration

RUNNER = Path(__file__).resolve().parents[2] / "agent" / "faasctl_agent" / "runner"
MIB = 1024 * 1024


class Runner:
    def __init__(self, image: str, *docker_args: str) -> None:
        self.proc = subprocess.Popen(
            ["docker", "run", "-i", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
             "--security-opt", "no-new-privileges", "-v", f"{RUNNER}:/opt/faasctl:ro", *docker_args, image,
             "node", "/opt/faasctl/runner.js"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.read()["op"] == "ready"

    def read(self, seconds: float = 60) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], seconds)
        assert ready, "the runner did not answer"
        line = self.proc.stdout.readline()
        assert line, "the runner ended"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(30)


@pytest.fixture(scope="module")
def image(platform: Platform) -> str:
    proc = platform.cli("runtime", "add", "node", check=False)
    if proc.returncode != 0:  # tests never skip (tests/conftest.py): say why, plainly
        pytest.fail(f"the node runtime image could not be built ({proc.stderr.strip()}); run scripts/setup.sh")
    listed = json.loads(platform.cli("runtime", "list", "--json").stdout)
    return str(next(r["image"] for r in listed if r["name"] == "node"))


@pytest.fixture
def runner(image: str) -> Iterator[Runner]:
    started = Runner(image, "--user", "65534:65534")
    yield started
    started.close()


def code_tar(files: dict[str, str], extra: list[archive.Entry] | None = None) -> str:
    entries = [archive.Entry(name, "file", 0o644, text.encode()) for name, text in files.items()]
    return base64.b64encode(archive.pack(entries + (extra or []), compress=False)).decode()


def handler(runner: Runner, body: str) -> None:
    """A handler module written to /tmp (the code mount is read-only), then loaded."""
    script = f"require('fs').writeFileSync('/tmp/h.js', {json.dumps(body)})"
    assert runner.send({"op": "init", "mode": "command", "path": "/tmp", "run": f"node -e {json.dumps(script)}"})["ok"]
    assert runner.send({"op": "call", "id": "w", "params": None})["ok"]
    assert runner.send({"op": "init", "mode": "handler", "path": "/tmp", "handler": "h:handle"})["ok"]


def test_command_mode_replies_and_exit_causes(runner: Runner) -> None:
    init = runner.send({"op": "init", "mode": "command", "path": "/tmp", "run": "cat; echo to-log >&2"})
    assert init["ok"] and init["id"] is None and isinstance(init["ms"], float)
    echoed = runner.send({"op": "call", "id": "c1", "params": {"a": [1, "é"]}})
    assert (echoed["ok"], echoed["id"], json.loads(echoed["result"]), echoed["log"]) == (
        True, "c1", {"a": [1, "é"]}, "to-log\n")
    runner.send({"op": "init", "mode": "command", "path": "/tmp", "run": "exit 3"})
    assert runner.send({"op": "call", "id": "c2", "params": None}) | {"ms": 0} == {
        "ok": False, "id": "c2", "ms": 0, "log": "", "result": "", "cause": "exit",
        "error": "command exited with status 3"}
    runner.send({"op": "init", "mode": "command", "path": "/tmp", "run": "kill -9 $$"})
    killed = runner.send({"op": "call", "id": "c3", "params": None})
    assert (killed["cause"], killed["error"]) == ("signal", "command killed by SIGKILL (exit status -9)")
    runner.send({"op": "init", "mode": "command", "path": "/tmp",
                 "run": "node -e \"process.stdout.write('x'.repeat(40 * 1024 * 1024))\""})
    over = runner.send({"op": "call", "id": "c4", "params": None})
    assert over["cause"] == "output" and "more than 32 MiB on stdout" in over["error"]
    assert runner.send({"op": "nope"}) | {"ms": 0} == {"ok": False, "error": 'unknown op "nope"', "id": None, "ms": 0}


def test_handler_mode_limits_and_errors(runner: Runner) -> None:
    handler(runner, """
module.exports.handle = async (p) => {
  if (p.big) return 'x'.repeat(33 * 1024 * 1024);
  if (p.chatty) { console.log('y'.repeat(100000)); return 'said'; }
  if (p.late) { setTimeout(() => { throw new RangeError('thrown later'); }, 5); return new Promise(() => {}); }
  if (p.fail) throw new Error('handler failed');
  return p.echo !== undefined ? p.echo : p;
};""")
    assert runner.send({"op": "call", "id": "h1", "params": {"n": 1}})["result"] == '{"n":1}'
    big = runner.send({"op": "call", "id": "h2", "params": {"big": True}})
    assert (big["ok"], big["cause"], big["id"]) == (False, "result", "h2")
    assert big["error"].startswith("result over its limit: the reply is ")
    assert big["error"].endswith("the limit is 32 MiB")
    chatty = runner.send({"op": "call", "id": "h3", "params": {"chatty": True}})
    assert chatty["result"] == "said" and len(chatty["log"]) == 64 * 1024
    failed = runner.send({"op": "call", "id": "h4", "params": {"fail": True}})
    assert not failed["ok"] and failed["error"].startswith("Error: handler failed\n    at ")
    late = runner.send({"op": "call", "id": "h5", "params": {"late": True}})  # fails the call, not the runner
    assert not late["ok"] and late["error"].startswith("RangeError: thrown later")
    still = runner.send({"op": "call", "id": "h6", "params": {"echo": "still up"}})
    assert still.get("result") == "still up", still


def test_stem_cell_unpacks_as_root_then_drops_for_good(image: str) -> None:
    stem = Runner(image, "--user", "0:0", "--cap-add", "SETUID", "--cap-add", "SETGID", "-v", "/ws", "-v", "/deps")
    try:
        code = code_tar({"index.js": "const dep = require('dep');\nmodule.exports.handle = async () => {\n"
                         "  let wrote = true;\n"
                         "  try { require('fs').writeFileSync('/ws/x', 'x'); } catch (e) { wrote = e.code; }\n"
                         "  return { uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), "
                         "wrote, dep: dep.name };\n};\n"})
        deps = code_tar({"node_modules/dep/index.js": "exports.name = 'dep';\n",
                         "node_modules/dep/package.json": '{"name": "dep", "main": "index.js"}'})
        assert stem.send({"op": "init", "mode": "handler", "path": "/ws", "handler": "index:handle", "code": code,
                          "deps": deps, "user": "65534:65534"})["ok"]
        result = json.loads(stem.send({"op": "call", "id": "s1", "params": None})["result"])
        assert result == {"uid": 65534, "gid": 65534, "groups": [65534], "wrote": "EACCES", "dep": "dep"}
    finally:
        stem.close()


def ustar(name: str, kind: bytes = tarfile.REGTYPE) -> str:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = "/etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
        tf.addfile(info, io.BytesIO(b""))
    return base64.b64encode(out.getvalue()).decode()


def flipped(tar: str) -> str:
    raw = bytearray(base64.b64decode(tar))
    raw[0] ^= 0x01  # one bit of the first name: the header's checksum no longer holds
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(("tar", "refusal"), [
    (code_tar({"a.js": ""}, [archive.Entry("l", "link", 0o777, target="a.js")]),
     "l: symbolic link entries are refused"),
    (ustar("h", tarfile.LNKTYPE), "h: hard link entries are refused"),
    (ustar("p", tarfile.FIFOTYPE), "p: fifo entries are refused"),
    (ustar("../escape.js"), "tar: ../escape.js: '..' is refused"),
    (ustar("/etc/escape.js"), "tar: /etc/escape.js: absolute paths are refused"),
    (flipped(ustar("ok.js")), "tar: bad header checksum at byte 0"),
])
def test_stem_cell_refuses_what_is_not_a_plain_file_inside(image: str, tar: str, refusal: str) -> None:
    stem = Runner(image, "--user", "0:0", "--cap-add", "SETUID", "--cap-add", "SETGID", "-v", "/ws", "-v", "/deps")
    try:
        reply = stem.send({"op": "init", "mode": "handler", "path": "/ws", "handler": "index:handle", "code": tar})
        assert not reply["ok"] and refusal in reply["error"], reply["error"]
    finally:
        stem.close()


def test_the_agents_socket_carries_the_protocol_when_mounted(image: str, tmp_path: Path) -> None:
    """FAASCTL_SOCKET: the runner connects to the agent's Unix socket (mounted read-only) and
    speaks the same lines there; stdout carries none of them. Without a reachable socket it
    falls back to stdin and stdout."""
    folder = tmp_path / "sock"
    folder.mkdir(mode=0o755)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(folder / "agent.sock"))
    os.chmod(folder / "agent.sock", 0o777)  # the function's user connects to it
    server.listen(1)
    server.settimeout(60)
    proc = subprocess.Popen(
        ["docker", "run", "-i", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL",
         "--user", "65534:65534", "-v", f"{RUNNER}:/opt/faasctl:ro", "-v", f"{folder}:/run/faasctl:ro",
         "-e", "FAASCTL_SOCKET=/run/faasctl/agent.sock", image, "node", "/opt/faasctl/runner.js"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        conn, _ = server.accept()
        lines = conn.makefile("rwb")
        assert json.loads(lines.readline())["op"] == "ready"
        for msg in ({"op": "init", "mode": "command", "path": "/tmp", "run": "cat"},
                    {"op": "call", "id": "s1", "params": {"over": "socket"}}):
            lines.write(json.dumps(msg).encode() + b"\n")
            lines.flush()
            reply = json.loads(lines.readline())
            assert reply["ok"], reply
        assert (reply["id"], json.loads(reply["result"])) == ("s1", {"over": "socket"})
        lines.close()
        conn.close()  # the agent's end closes: the runner ends
        out, _ = proc.communicate(timeout=30)
        assert out == b""  # no protocol line went to stdout
    finally:
        server.close()
        if proc.poll() is None:
            proc.kill()
    fallback = Runner(image, "--user", "65534:65534", "-e", "FAASCTL_SOCKET=/run/faasctl/none.sock")
    try:  # Runner() itself read "ready" from stdout
        assert fallback.send({"op": "init", "mode": "command", "path": "/tmp", "run": "echo fine"})["ok"]
    finally:
        fallback.close()


def test_env_and_secrets_reach_the_function_as_runner_py_places_them(image: str, runner: Runner) -> None:
    """The secrets branch's init fields: env set before the module loads; each secret a
    0440 root:group file on the secrets tmpfs, placed as root before the drop."""
    stem = Runner(image, "--user", "0:0", "--cap-add", "SETUID", "--cap-add", "SETGID", "-v", "/ws", "-v", "/deps",
                  "--tmpfs", "/var/run/secrets/faasctl:mode=0750,uid=0,gid=65534")
    try:
        code = code_tar({"index.js": "const fs = require('fs');\nconst greeting = process.env.GREETING;\n"
                         "module.exports.handle = async () => {\n  const f = '/var/run/secrets/faasctl/token';\n"
                         "  let changed = true;\n  try { fs.writeFileSync(f, 'x'); } catch (e) { changed = e.code; }\n"
                         "  const st = fs.statSync(f);\n"
                         "  return { greeting, token: fs.readFileSync(f, 'utf8'), changed,"
                         " mode: (st.mode & 0o777).toString(8), owner: [st.uid, st.gid] };\n};\n"})
        assert stem.send({"op": "init", "mode": "handler", "path": "/ws", "handler": "index:handle", "code": code,
                          "user": "65534:65534", "env": {"GREETING": "hello"},
                          "secrets": {"token": base64.b64encode(b"s3cret").decode()}})["ok"]
        result = json.loads(stem.send({"op": "call", "id": "e1", "params": None})["result"])
        assert result == {"greeting": "hello", "token": "s3cret", "changed": "EACCES", "mode": "440",
                          "owner": [0, 65534]}
    finally:
        stem.close()
    refused = runner.send({"op": "init", "mode": "command", "path": "/tmp", "run": "true",
                           "secrets": {"token": "eA=="}})
    assert not refused["ok"] and "secrets need a container started as root" in refused["error"]


def test_lambda_gets_an_http_request_as_api_gateways_proxy_event(runner: Runner) -> None:
    """A call carrying serve's HTTP request (the kinds branch's `http`) and a deadline."""
    script = ("require('fs').writeFileSync('/tmp/app.js', 'exports.handler = async (event, context) => "
              "({ event, left: context.getRemainingTimeInMillis(), id: context.awsRequestId });')")
    assert runner.send({"op": "init", "mode": "command", "path": "/tmp", "run": f"node -e {json.dumps(script)}"})["ok"]
    assert runner.send({"op": "call", "id": "w", "params": None})["ok"]
    assert runner.send({"op": "init", "mode": "handler", "path": "/tmp", "handler": "app.handler", "kind": "lambda",
                        "function": {"name": "web", "version": "3", "memory_mb": 128, "timeout": 30}})["ok"]
    http = {"method": "POST", "path": "/orders/7", "query": "a=1&a=2&b=x+y",
            "headers": [["Content-Type", "text/plain"], ["X-Tag", "one"], ["X-Tag", "two"]],
            "body": base64.b64encode(b"hello").decode()}
    reply = runner.send({"op": "call", "id": "r1", "params": None, "http": http, "deadline": time.time() + 5})
    out = json.loads(reply["result"])
    ev = out["event"]
    assert (ev["httpMethod"], ev["path"], ev["body"], ev["isBase64Encoded"]) == ("POST", "/orders/7", "hello", False)
    assert ev["queryStringParameters"] == {"a": "2", "b": "x y"}
    assert ev["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"]}
    assert ev["headers"]["X-Tag"] == "two" and ev["multiValueHeaders"]["X-Tag"] == ["one", "two"]
    assert ev["pathParameters"] == {"proxy": "orders/7"} and ev["requestContext"]["requestId"] == "r1"
    assert 0 < out["left"] <= 5000 and out["id"] == "r1"
    binary = runner.send({"op": "call", "id": "r2", "params": None,
                          "http": {**http, "body": base64.b64encode(b"\xff\xfe").decode(), "query": ""}})
    ev = json.loads(binary["result"])["event"]
    assert (ev["body"], ev["isBase64Encoded"], ev["queryStringParameters"]) == ("//4=", True, None)
    plain = json.loads(runner.send({"op": "call", "id": "r3", "params": {"k": 1}})["result"])
    assert plain["event"] == {"k": 1} and 25000 < plain["left"] <= 30000
