"""Issue 13, sections 1 and 2: functions written for Lambda, OpenWhisk and OpenFaaS, run
unmodified on a real agent in real containers, under preload none and runtime (a stem
cell, specialised by its init message), called sync, async, through `faasctl serve`'s
/function/NAME and through the seed's routes. The handlers below are written the way
each platform's documentation writes them."""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.apiserver import ApiServer, poll_call, serve
from tests.support.platform import Platform

pytestmark = pytest.mark.integration
TOKEN = "kinds-token"

LAMBDA = '''\
import json
import os


def lambda_handler(event, context):
    if isinstance(event, dict) and "httpMethod" in event:
        if event["path"] == "/fail":
            raise ValueError("asked to fail")
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-Kind": "lambda"},
            "body": json.dumps({"method": event["httpMethod"], "path": event["path"],
                                "query": event["queryStringParameters"], "body": event["body"],
                                "base64": event["isBase64Encoded"], "headers": sorted(event["headers"]),
                                "function": context.function_name}),
        }
    if event == "fail":
        raise ValueError("asked to fail")
    return {"event": event, "function": context.function_name, "version": context.function_version,
            "memory": context.memory_limit_in_mb, "request": context.aws_request_id,
            "remaining": context.get_remaining_time_in_millis(),
            "env": [os.environ["AWS_LAMBDA_FUNCTION_NAME"], os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
                    os.environ["_HANDLER"], os.environ["LAMBDA_TASK_ROOT"]]}
'''
OPENWHISK = '''\
import os

from owhelper import shout


def greet(args):
    if args.get("list"):
        return ["not", "a", "dict"]
    return {"greeting": shout("hello " + args.get("name", "stranger")),
            "activation": os.environ["__OW_ACTIVATION_ID"], "action": os.environ["__OW_ACTION_NAME"],
            "deadline": int(os.environ["__OW_DEADLINE"])}
'''
OPENFAAS = '''\
def handle(req):
    """handle a request to the function
    Args:
        req (str): request body
    """
    return "Hello! You said: " + req
'''
OPENFAAS_HTTP = '''\
def handle(event, context):
    return {
        "statusCode": 202,
        "body": {"method": event.method, "path": event.path, "query": dict(event.query),
                 "body": event.body.decode(), "type": event.headers.get("Content-Type")},
        "headers": {"X-Kind": "openfaas-http"},
    }
'''
NATIVE = "def handle(params):\n    return {'got': params}\n"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def openwhisk_zip(folder: Path) -> Path:
    """An OpenWhisk zip action: __main__.py and a bundled virtualenv/ with a package in it."""
    path = folder / "action.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__main__.py", OPENWHISK)
        zf.writestr("virtualenv/bin/activate_this.py", "# made by virtualenv\n")
        zf.writestr("virtualenv/lib/python3.11/site-packages/owhelper.py", "def shout(s):\n    return s.upper()\n")
    return path


def deploy(platform: Platform, tmp_path: Path, name: str, kind: str, preload: str) -> None:
    src = tmp_path / name
    src.mkdir()
    extra: list[str] = []
    if kind == "lambda":
        source = write(src, {"lambda_function.py": LAMBDA})
    elif kind == "openwhisk":
        source, extra = openwhisk_zip(src), ["--handler", "greet"]
    elif kind == "openfaas":
        source = write(src, {"handler.py": OPENFAAS, "requirements.txt": ""})
    elif kind == "openfaas-http":
        source = write(src, {"handler.py": OPENFAAS_HTTP, "requirements.txt": ""})
    else:
        source, extra = write(src, {"main.py": NATIVE}), ["--handler", "main:handle"]
    platform.cli("fn", "deploy", name, str(source), "--runtime", "python", "--kind", kind, "--preload", preload,
                 *extra)


def record(platform: Platform, *args: str) -> dict[str, Any]:
    proc = platform.cli("invoke", *args, "--json", check=False)
    assert proc.stdout, proc.stderr
    return dict(json.loads(proc.stdout))


def check_direct(kind: str, name: str, call: dict[str, Any]) -> None:
    """What a call with params {"name": "ada"} (no HTTP request) returns, per kind."""
    assert call["status"] == "DONE", call
    result = call["result"]
    if kind == "lambda":
        out = json.loads(result)
        assert out["event"] == {"name": "ada"} and out["function"] == name and out["version"] == str(call["version"])
        assert out["memory"] == "256" and len(out["request"]) == 24 and 0 < out["remaining"] <= 30_000
        assert out["env"] == [name, "256", "lambda_function.lambda_handler", "/ws"]
    elif kind == "openwhisk":
        out = json.loads(result)
        assert out["greeting"] == "HELLO ADA" and out["action"] == f"/faasctl/{name}"
        assert len(out["activation"]) == 24 and out["deadline"] > time.time() * 1000
    elif kind == "openfaas":
        assert result == 'Hello! You said: {"name":"ada"}'
    elif kind == "openfaas-http":
        out = json.loads(result)
        body = json.loads(out["body"])
        assert out["statusCode"] == 202 and out["headers"]["X-Kind"] == "openfaas-http"
        assert body == {"method": "POST", "path": "/", "query": {}, "body": '{"name":"ada"}',
                        "type": "application/json"}
    else:
        assert json.loads(result) == {"got": {"name": "ada"}}


def check_http(kind: str, name: str, resp: httpx.Response) -> None:
    """What POST /function/NAME/items/7?x=1 with body {"name": "ada"} answers, per kind."""
    assert resp.headers["x-faasctl-call"].isdigit(), resp.text
    if kind == "lambda":
        assert resp.status_code == 201 and resp.headers["x-kind"] == "lambda", resp.text
        out = resp.json()
        assert out["method"] == "POST" and out["path"] == "/items/7" and out["query"] == {"x": "1"}
        assert out["body"] == '{"name": "ada"}' and out["base64"] is False and out["function"] == name
        assert "content-type" in out["headers"] and "authorization" not in out["headers"]  # serve's token stays
    elif kind == "openfaas-http":
        assert resp.status_code == 202 and resp.headers["x-kind"] == "openfaas-http", resp.text
        assert resp.json() == {"method": "POST", "path": "/items/7", "query": {"x": "1"}, "body": '{"name": "ada"}',
                               "type": "application/json"}
    elif kind == "openfaas":
        assert resp.status_code == 200 and resp.text == 'Hello! You said: {"name": "ada"}', resp.text
    elif kind == "openwhisk":
        assert resp.status_code == 200 and resp.json()["greeting"] == "HELLO ADA", resp.text
    else:
        assert resp.status_code == 200 and resp.json() == {"got": {"name": "ada"}}, resp.text
        assert resp.headers["content-type"] == "application/json"


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[ApiServer]:
    with serve(platform, "--token", TOKEN, "--max-body-mb", "1", token=TOKEN) as server:
        yield server


KINDS = ["lambda", "openwhisk", "openfaas", "openfaas-http", "native"]


def idle_stems(platform: Platform) -> int:
    st = json.loads(platform.cli("node", "status", "local", "--json").stdout)
    return int(sum(st.get("stem_cells", {}).values()))


@pytest.mark.parametrize("preload", ["none", "runtime"])
@pytest.mark.parametrize("kind", KINDS)
def test_kind_runs_unmodified_every_way(platform: Platform, api: ApiServer, tmp_path: Path, kind: str,
                                        preload: str) -> None:
    name = f"k-{kind}-{preload}"
    deploy(platform, tmp_path, name, kind, preload)
    listed = {f["name"]: f for f in json.loads(platform.cli("fn", "list", "--json").stdout)}
    assert listed[name]["kind"] == kind and listed[name]["mode"] == "handler"

    if preload == "runtime":  # the first call takes a stem cell, started before this function existed
        deadline = time.monotonic() + 60
        while idle_stems(platform) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
    first = record(platform, name, "-p", "name=ada")
    check_direct(kind, name, first)  # Lambda's variables and OpenWhisk's came from the init message
    assert first["startKind"] == ("prewarm" if preload == "runtime" else "cold"), first
    queued = record(platform, name, "-p", "name=ada", "--async")
    assert queued["status"] == "PENDING"
    done = json.loads(platform.cli("call", "wait", str(queued["callNum"]), "--json").stdout)
    check_direct(kind, name, done)

    with api.client() as c:
        resp = c.post(f"/function/{name}/items/7?x=1", content=json.dumps({"name": "ada"}),
                      headers={"Content-Type": "application/json"})
        check_http(kind, name, resp)
        via_http = c.get(f"/v1/calls/{resp.headers['x-faasctl-call']}").json()
        assert via_http["funcName"] == name and via_http["status"] == "DONE" and via_http["params"] == {"name": "ada"}

        accepted = c.post("/invokeFunction", json={"funcName": name, "params": {"name": "ada"}})
        assert accepted.status_code == 200 and accepted.json()["status"] == "PENDING", accepted.text
        seed = poll_call(c, f"/call/{accepted.json()['callNum']}")
        check_direct(kind, name, {**seed, "version": first["version"]})


def test_contract_errors_are_the_platforms(platform: Platform, api: ApiServer, tmp_path: Path) -> None:
    deploy(platform, tmp_path, "k-err-lambda", "lambda", "none")
    failed = record(platform, "k-err-lambda", "--data", '"fail"')
    assert failed["status"] == "ERROR"
    shaped = json.loads(failed["error"])
    assert shaped["errorMessage"] == "asked to fail" and shaped["errorType"] == "ValueError"
    assert any("lambda_function.py" in frame for frame in shaped["stackTrace"])
    assert platform.cli("invoke", "k-err-lambda", "--data", '"fail"', check=False).returncode == 9

    deploy(platform, tmp_path, "k-err-ow", "openwhisk", "none")
    not_dict = record(platform, "k-err-ow", "-p", "list=1")
    assert not_dict["status"] == "ERROR" and not_dict["error"] == "The action did not return a dictionary."

    src = write(tmp_path / "plain", {"app.py": "def handler(event, context):\n    return {'hello': 'world'}\n"})
    platform.cli("fn", "deploy", "k-plain-lambda", str(src), "--runtime", "python", "--kind", "lambda",
                 "--handler", "app.handler")
    assert json.loads(record(platform, "k-plain-lambda")["result"]) == {"hello": "world"}
    with api.client() as c:
        plain = c.get("/function/k-plain-lambda")  # no proxy response for an HTTP event: API Gateway's 502
        assert plain.status_code == 502 and "statusCode" in plain.json()["error"], plain.text
        boom = c.post("/function/k-err-lambda/fail")
        assert boom.status_code == 500 and "failed" in boom.json()["error"] and boom.headers["x-faasctl-call"]


def test_function_route_keeps_serves_guards(platform: Platform, api: ApiServer, tmp_path: Path) -> None:
    deploy(platform, tmp_path, "k-guard", "lambda", "none")
    before = len(json.loads(platform.cli("call", "list", "-f", "k-guard", "--json").stdout))
    assert httpx.post(f"{api.url}/function/k-guard", content=b"x").status_code == 401  # no token
    with api.client() as c:
        big = c.post("/function/k-guard", content=b"x" * (2 * 1024 * 1024))
        assert big.status_code == 413, big.text
        missing = c.get("/function/no-such-function")
        assert missing.status_code == 404 and missing.json()["hint"]
        binary = c.put("/function/k-guard/bin", content=b"\xff\xfe\x00")
        assert binary.status_code == 201 and binary.json()["base64"] is True, binary.text
    after = json.loads(platform.cli("call", "list", "-f", "k-guard", "--json").stdout)
    assert len(after) == before + 1  # refused requests record no call; the binary one is recorded


def test_v1_deploys_a_kind(platform: Platform, api: ApiServer, tmp_path: Path) -> None:
    archive = tmp_path / "fn.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("handler.py", OPENFAAS_HTTP)
    with api.client() as c:
        wrong = c.put("/v1/functions/k-v1", data={"runtime": "python", "kind": "azure"},
                      files={"archive": ("fn.zip", archive.read_bytes(), "application/zip")})
        assert wrong.status_code == 422, wrong.text
        made = c.put("/v1/functions/k-v1", data={"runtime": "python", "kind": "openfaas-http"},
                     files={"archive": ("fn.zip", archive.read_bytes(), "application/zip")})
        assert made.status_code == 200 and made.json()["kind"] == "openfaas-http", made.text
        assert c.get("/v1/functions/k-v1").json()["handler"] == "handler.handle"
        resp = c.delete("/function/k-v1/x?a=b")
        assert resp.status_code == 202 and resp.json()["method"] == "DELETE" and resp.json()["query"] == {"a": "b"}


def test_cli_refuses_a_kind_or_handler_that_does_not_fit(platform: Platform, tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"main.py": NATIVE})
    for extra, words in ((["--kind", "aws"], "not one of"), (["--kind", "command", "--handler", "main:handle"],
                                                            "takes no --handler"),
                         (["--kind", "lambda", "--handler", "main:handle"], "MODULE.FUNCTION")):
        proc = platform.cli("fn", "deploy", "k-refused", str(src), "--runtime", "python", *extra, check=False)
        assert proc.returncode == 2 and words in proc.stderr and "hint" in proc.stderr, proc.stderr
    assert "k-refused" not in platform.cli("fn", "list").stdout  # nothing recorded
