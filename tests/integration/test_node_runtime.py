"""Issue 13, section 3: Node.js functions on a real agent and Docker engine.

Command, handler and Lambda kinds, each under preload none, function and runtime (stem
cells), each with an npm dependency shipped inside the archive as a local tarball (made
here by hand: there is no registry in tests). The image is the built-in `node` runtime,
which scripts/setup.sh builds ahead (scripts/runtime-images.py).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.platform import Platform
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

TINY_INDEX = ("exports.shout = (s) => String(s).toUpperCase() + '!';\n"
              "exports.version = require('./package.json').version;\n")
PACKAGE = {"name": "fn", "version": "1.0.0", "private": True,
           "dependencies": {"tiny": "file:vendor/tiny-1.0.0.tgz"}}
# What each kind's function reports: the dependency at work, who runs it, and its contract.
BODIES = {
    "command": """const tiny = require('tiny');
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const params = JSON.parse(input || 'null') || {};
  console.error('to the log');
  process.stdout.write(JSON.stringify({ said: tiny.shout(params.word), tiny: tiny.version, uid: process.getuid() }));
});
""",
    "handler": """const tiny = require('tiny');
module.exports.handle = async (params) => {
  console.log('to the log');
  await new Promise((r) => setTimeout(r, 5));
  return { said: tiny.shout(params.word), tiny: tiny.version, uid: process.getuid() };
};
""",
    "lambda": """const tiny = require('tiny');
exports.handler = async (event, context) => {
  if (event.word === 'fail') throw new TypeError('no good word');
  console.log('to the log');
  return {
    said: tiny.shout(event.word), tiny: tiny.version, uid: process.getuid(),
    context: [context.functionName, context.memoryLimitInMB, context.awsRequestId.length > 0,
              context.getRemainingTimeInMillis() > 0, context.invokedFunctionArn.endsWith(':' + context.functionName)],
    env: [process.env.AWS_LAMBDA_FUNCTION_NAME, process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, process.env._HANDLER,
          process.env.LAMBDA_TASK_ROOT, process.env.AWS_LAMBDA_FUNCTION_VERSION.length > 0],
  };
};
""",
}
OPTIONS = {"command": (), "handler": ("--handler", "index:handle"), "lambda": ("--kind", "lambda")}


def tiny_tarball() -> bytes:
    """An npm package tarball as `npm pack` lays it out: everything under package/."""
    files = {"package/package.json": json.dumps({"name": "tiny", "version": "1.0.0", "main": "index.js"}),
             "package/index.js": TINY_INDEX}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(text.encode()), 0o644
            tf.addfile(info, io.BytesIO(text.encode()))
    return out.getvalue()


def function_dir(root: Path, name: str, body: str, package: Any = None) -> Path:
    src = root / name
    (src / "vendor").mkdir(parents=True)
    (src / "index.js").write_text(body)
    (src / "package.json").write_text(package if isinstance(package, str) else json.dumps(package or PACKAGE))
    (src / "vendor" / "tiny-1.0.0.tgz").write_bytes(tiny_tarball())
    return src


@pytest.fixture(scope="module")
def node_runtime(platform: Platform) -> Platform:
    proc = platform.cli("runtime", "add", "node", check=False)
    if proc.returncode != 0:  # tests never skip (tests/conftest.py): say why, plainly
        pytest.fail(f"the node runtime image could not be built ({proc.stderr.strip()}); "
                    "run scripts/setup.sh, which builds it (scripts/runtime-images.py node)")
    return platform


def invoke(platform: Platform, name: str, *args: str) -> dict[str, Any]:
    proc = platform.cli("invoke", name, "--json", *args, check=False)
    assert proc.stdout, proc.stderr
    call: dict[str, Any] = json.loads(proc.stdout)
    return call


def idle_stems(platform: Platform) -> int:
    status = json.loads(platform.cli("node", "status", "local", "--json").stdout)
    return sum(n for key, n in status.get("stem_cells", {}).items() if key.endswith("|node"))


@pytest.mark.parametrize("preload", ["none", "function", "runtime"])
@pytest.mark.parametrize("kind", ["command", "handler", "lambda"])
def test_node_function_with_an_npm_tarball(node_runtime: Platform, tmp_path: Path, kind: str, preload: str) -> None:
    name = f"node-{kind}-{preload}"
    src = function_dir(tmp_path, name, BODIES[kind])
    out = node_runtime.cli("fn", "deploy", name, str(src), "--runtime", "node", "--preload", preload,
                           *OPTIONS[kind], "--json")
    assert json.loads(out.stdout)["nodes"]["local"]["dependencies"] in ("installed", "cached")
    if preload == "runtime":
        assert wait_until(lambda: idle_stems(node_runtime) >= 1, 60.0), "no Node stem cell became ready"
    call = invoke(node_runtime, name, "-p", "word=hi")
    assert call["status"] == "DONE", call
    result = json.loads(call["result"])
    assert (result["said"], result["tiny"], result["uid"]) == ("HI!", "1.0.0", 65534)
    assert "to the log" in node_runtime.cli("logs", str(call["callNum"])).stdout
    expected_start = {"none": "cold", "function": "cold", "runtime": "prewarm"}[preload]
    assert call["startKind"] == expected_start
    if kind == "lambda":
        assert result["context"] == [name, "256", True, True, True]
        assert result["env"] == [name, "256", "index.handler", "/ws", True]
        failed = invoke(node_runtime, name, "-p", "word=fail")
        assert failed["status"] == "ERROR"
        shaped = json.loads(failed["error"])
        assert (shaped["errorType"], shaped["errorMessage"]) == ("TypeError", "no good word")
        assert any("index.js" in line for line in shaped["stackTrace"])
    again = invoke(node_runtime, name, "-p", "word=yo")
    assert json.loads(again["result"])["said"] == "YO!"
    assert again["startKind"] == ("cold" if preload == "none" else "warm")


def test_the_dependency_install_is_cached_per_lockfile(node_runtime: Platform, tmp_path: Path) -> None:
    first = function_dir(tmp_path / "a", "node-cache-a", BODIES["handler"])
    second = function_dir(tmp_path / "b", "node-cache-b", BODIES["handler"].replace("to the log", "other code"))
    one = json.loads(node_runtime.cli("fn", "deploy", "node-cache-a", str(first), "--runtime", "node",
                                      "--handler", "index:handle", "--json").stdout)
    two = json.loads(node_runtime.cli("fn", "deploy", "node-cache-b", str(second), "--runtime", "node",
                                      "--handler", "index:handle", "--json").stdout)
    assert one["nodes"]["local"]["dependencies"] in ("installed", "cached")
    assert two["nodes"]["local"]["dependencies"] == "cached"  # same package.json and tarball, other code


def test_a_broken_package_json_is_refused_in_one_line(node_runtime: Platform, tmp_path: Path) -> None:
    src = function_dir(tmp_path, "node-broken", BODIES["handler"], package='{"name": "fn",\n "dependencies": {,}}')
    proc = node_runtime.cli("fn", "deploy", "node-broken", str(src), "--runtime", "node", "--handler", "index:handle",
                            check=False)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and "deploying" not in ln]
    assert "package.json is not valid JSON" in lines[0] and "line 2 column" in lines[0]
    assert any("fix package.json" in ln for ln in lines[1:]), proc.stderr


def test_an_image_without_python_serves_node_functions(node_runtime: Platform, tmp_path: Path, docker: Any) -> None:
    """Nothing assumes python3 in a function's image: the runtime's runner is node, so the
    container starts runner.js, under every preload policy."""
    listed = json.loads(node_runtime.cli("runtime", "list", "--json").stdout)
    base = next(r["image"] for r in listed if r["name"] == "node")
    dockerfile = (f"FROM {base}\nUSER 0:0\nRUN rm -f /usr/bin/python3* /usr/local/bin/python3* "
                  "&& ! command -v python3\nUSER 65534:65534\n").encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tf:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tf.addfile(info, io.BytesIO(dockerfile))
    docker.images.build(fileobj=io.BytesIO(context.getvalue()), custom_context=True, tag="faasctl/test-nopython:1",
                        rm=True)
    node_runtime.cli("runtime", "add", "nopython", "--image", "faasctl/test-nopython:1", "--runner", "node",
                     "--dependencies", "sh /usr/local/lib/faasctl/npm-deps.sh", "--run", "node index.js")
    for preload in ("none", "function", "runtime"):
        name = f"nopython-{preload}"
        src = function_dir(tmp_path, name, BODIES["handler"])
        node_runtime.cli("fn", "deploy", name, str(src), "--runtime", "nopython", "--handler", "index:handle",
                         "--preload", preload)
        call = invoke(node_runtime, name, "-p", "word=bare")
        assert call["status"] == "DONE" and json.loads(call["result"])["said"] == "BARE!", call
