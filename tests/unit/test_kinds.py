"""Handler kinds: the deploy-side check (faasctl_agent.kinds) and the runner-side contracts
(runner/faasctl_kinds.py, faasctl_http.py), run in process on real handler files written
in each platform's documented style. The integration tests (test_kinds_platform.py) run
the same kinds in real containers."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from faasctl_agent import kinds

RUNNER = Path(__file__).resolve().parents[2] / "agent" / "faasctl_agent" / "runner"
sys.path.insert(0, str(RUNNER))  # the runner imports its modules by bare name, as in /opt/faasctl
import faasctl_http  # noqa: E402
import faasctl_kinds  # noqa: E402


@pytest.mark.parametrize(("kind", "handler", "runtime_handler", "run", "want"), [
    ("", "", "", "python3 test.py", ("command", "")),
    ("", "main:handle", "", "python3 test.py", ("native", "main:handle")),
    ("", "", "main:go", "", ("native", "main:go")),
    ("lambda", "", "main:go", "", ("lambda", "lambda_function.lambda_handler")),
    ("lambda", "src/app.handler", "", "", ("lambda", "src/app.handler")),
    ("openwhisk", "", "", "", ("openwhisk", "main")),
    ("openwhisk", "hello", "", "", ("openwhisk", "hello")),
    ("openfaas", "", "", "", ("openfaas", "handler.handle")),
    ("openfaas-http", "", "", "", ("openfaas-http", "handler.handle")),
])
def test_resolve_picks_kind_and_handler(kind: str, handler: str, runtime_handler: str, run: str,
                                        want: tuple[str, str]) -> None:
    assert kinds.resolve(kind, handler, runtime_handler, run) == want


@pytest.mark.parametrize(("kind", "handler", "run", "words"), [
    ("aws", "", "x", "not one of"),
    ("command", "main:handle", "x", "takes no --handler"),
    ("command", "", "", "no run command"),
    ("native", "", "x", "needs --handler"),
    ("native", "main.handle", "x", "MODULE:FUNCTION"),
    ("lambda", "main:handle", "", "MODULE.FUNCTION"),
    ("openwhisk", "a.b", "", "a function name"),
])
def test_resolve_refuses_with_a_hint(kind: str, handler: str, run: str, words: str) -> None:
    with pytest.raises(kinds.KindError) as err:
        kinds.resolve(kind, handler, "", run)
    assert words in err.value.message + err.value.hint


def _load(tmp_path: Path, kind: str, files: dict[str, str], handler: str = "", **meta: Any) -> Any:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    handler = handler or kinds.DEFAULT_HANDLER.get(kind, "")
    return faasctl_kinds.load({"kind": kind, "path": str(tmp_path), "handler": handler,
                               "function": {"name": "fn1", "version": "4", "memory_mb": 192, "timeout": 9, **meta}})


def _unique() -> str:
    return "m" + uuid.uuid4().hex[:10]  # a module name no other test imported


def _http(method: str = "POST", path: str = "/", query: str = "", headers: Any = (),
          body: bytes = b"") -> dict[str, Any]:
    return {"method": method, "path": path, "query": query, "headers": [list(h) for h in headers],
            "body": base64.b64encode(body).decode()}


def test_lambda_context_environment_and_errors(tmp_path: Path) -> None:
    mod = _unique()
    fn = _load(tmp_path, "lambda", {f"{mod}.py": (
        "import os\n"
        "def handler(event, context):\n"
        "    if event == 'fail':\n"
        "        raise KeyError('missing')\n"
        "    return {'event': event, 'name': context.function_name, 'version': context.function_version,\n"
        "            'arn': context.invoked_function_arn, 'mb': context.memory_limit_in_mb,\n"
        "            'id': context.aws_request_id, 'group': context.log_group_name,\n"
        "            'left': context.get_remaining_time_in_millis(),\n"
        "            'identity': context.identity.cognito_identity_id,\n"
        "            'client': context.client_context, 'stream': context.log_stream_name,\n"
        "            'env': {k: os.environ[k] for k in ('AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_VERSION',\n"
        "                    'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '_HANDLER', 'LAMBDA_TASK_ROOT')}}\n")},
        handler=f"{mod}.handler")
    out = json.loads(fn.invoke({"a": 1}, {"id": "c1", "deadline": time.time() + 5}))
    assert out["event"] == {"a": 1} and out["name"] == "fn1" and out["version"] == "4" and out["mb"] == "192"
    assert out["id"] == "c1" and out["group"] == "/aws/lambda/fn1" and out["arn"].endswith(":function:fn1")
    assert 0 < out["left"] <= 5000 and out["identity"] is None and out["client"] is None and "[4]" in out["stream"]
    assert out["env"] == {"AWS_LAMBDA_FUNCTION_NAME": "fn1", "AWS_LAMBDA_FUNCTION_VERSION": "4",
                          "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "192", "_HANDLER": f"{mod}.handler",
                          "LAMBDA_TASK_ROOT": str(tmp_path)}
    with pytest.raises(KeyError):
        fn.invoke("fail", {"id": "c2"})
    try:
        fn.invoke("fail", {"id": "c2"})
    except KeyError:
        error = json.loads(fn.error({"id": "c2"}))
    assert error["errorType"] == "KeyError" and error["errorMessage"] == "'missing'" and error["requestId"] == "c2"
    assert any(f"{mod}.py" in line and "raise KeyError" in line for line in error["stackTrace"])


def test_lambda_sees_api_gateway_proxy_event(tmp_path: Path) -> None:
    mod = _unique()
    fn = _load(tmp_path, "lambda", {f"{mod}.py": "def handler(event, context):\n    return event\n"},
               handler=f"{mod}.handler")
    http = _http("PUT", "/items/7", "q=1&q=2&e=", [("x-a", "1"), ("x-a", "2")], b"\xff\x00")
    event = json.loads(fn.invoke(None, {"id": "r1", "http": http}))
    assert event["httpMethod"] == "PUT" and event["path"] == "/items/7" and event["resource"] == "/{proxy+}"
    assert event["queryStringParameters"] == {"q": "2", "e": ""}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"], "e": [""]}
    assert event["headers"] == {"x-a": "2"} and event["multiValueHeaders"] == {"x-a": ["1", "2"]}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\x00"
    assert event["pathParameters"] == {"proxy": "items/7"} and event["requestContext"]["requestId"] == "r1"
    empty = json.loads(fn.invoke(None, {"id": "r2", "http": _http("GET")}))
    assert empty["body"] is None and empty["isBase64Encoded"] is False and empty["queryStringParameters"] is None


def test_openwhisk_main_virtualenv_and_results(tmp_path: Path) -> None:
    site = "virtualenv/lib/python3.11/site-packages"
    fn = _load(tmp_path, "openwhisk", {
        f"{site}/owdep_{tmp_path.name[-6:]}.py": "VALUE = 'from the virtualenv'\n",
        "__main__.py": (
            "import os, importlib\n"
            f"dep = importlib.import_module('owdep_{tmp_path.name[-6:]}')\n"
            "def greet(args):\n"
            "    if args.get('kind') == 'list':\n"
            "        return [1]\n"
            "    if args.get('kind') == 'error':\n"
            "        return {'error': 'no name'}\n"
            "    return {'hi': args.get('name'), 'dep': dep.VALUE, 'id': os.environ['__OW_ACTIVATION_ID'],\n"
            "            'action': os.environ['__OW_ACTION_NAME'], 'deadline': int(os.environ['__OW_DEADLINE'])}\n")},
        handler="greet")
    deadline = time.time() + 9
    out = json.loads(fn.invoke({"name": "ow"}, {"id": "a1", "deadline": deadline}))
    assert out == {"hi": "ow", "dep": "from the virtualenv", "id": "a1", "action": "/faasctl/fn1",
                   "deadline": int(deadline * 1000)}
    for params, words in (({"kind": "list"}, "did not return a dictionary"), ({"kind": "error"}, '"error":"no name"'),
                          ([1, 2], "JSON object")):
        with pytest.raises(faasctl_kinds.ContractError, match=words.replace("(", r"\(")):
            fn.invoke(params, {"id": "a2"})


def test_openfaas_classic_gets_the_body_as_str(tmp_path: Path) -> None:
    mod = _unique()
    fn = _load(tmp_path, "openfaas", {f"{mod}.py": (
        "import os\n"
        "def handle(req):\n"
        "    if req == 'none':\n"
        "        return None\n"
        "    return 'got %s %s %s' % (type(req).__name__, req, os.getenv('Http_Method', '-'))\n")},
        handler=f"{mod}.handle")
    assert fn.invoke({"a": 1}, {"id": "1"}) == 'got str {"a":1} -'
    assert fn.invoke("none", {"id": "2"}) == ""
    assert fn.invoke(None, {"id": "3", "http": _http("PATCH", body=b"raw text")}) == "got str raw text PATCH"


def test_openfaas_http_event_and_response_rules(tmp_path: Path) -> None:
    mod = _unique()
    fn = _load(tmp_path, "openfaas-http", {f"{mod}.py": (
        "def handle(event, context):\n"
        "    q = event.query.get('r')\n"
        "    if q == 'none':\n"
        "        return None\n"
        "    if q == 'dict':\n"
        "        return {'statusCode': 201, 'body': {'len': len(event.body), 'ct': event.headers.get('CONTENT-TYPE'),\n"
        "                'method': event.method, 'path': event.path, 'all': event.query.getlist('r'),\n"
        "                'host': bool(context.hostname)}}\n"
        "    if q == 'bytes':\n"
        "        return {'body': b'\\x00\\x01', 'headers': {'Content-type': 'application/octet-stream'}}\n"
        "    if q == 'text':\n"
        "        return {'statusCode': 404, 'body': 7, 'headers': {'X-Y': 'z'}}\n"
        "    if q is None:\n"
        "        return {'body': event.body.decode(), 'headers': {'X-M': event.method}}\n"
        "    return 'just a string'\n")},
        handler=f"{mod}.handle")

    def call(query: str) -> dict[str, Any]:
        http = _http("POST", "/p", query, [("content-type", "text/plain")], b"abc")
        return dict(json.loads(fn.invoke(None, {"id": "h", "http": http})))

    assert call("r=none") == {"statusCode": 200, "headers": {"Content-Type": "text/html; charset=utf-8"},
                              "body": "", "isBase64Encoded": False}
    made = call("r=dict&r=x")
    assert made["statusCode"] == 201 and made["headers"]["Content-Type"] == "application/json"
    assert json.loads(made["body"]) == {"len": 3, "ct": "text/plain", "method": "POST", "path": "/p",
                                        "all": ["dict", "x"], "host": True}
    raw = call("r=bytes")
    assert raw["isBase64Encoded"] is True and base64.b64decode(raw["body"]) == b"\x00\x01"
    assert call("r=text") == {"statusCode": 404, "headers": {"X-Y": "z", "Content-Type": "text/html; charset=utf-8"},
                              "body": "7", "isBase64Encoded": False}
    with pytest.raises(faasctl_http.ContractError, match="returns a dict"):
        call("r=other")
    plain = json.loads(fn.invoke({"a": 1}, {"id": "p"}))  # no HTTP request: params as a JSON POST body
    assert plain["statusCode"] == 200 and plain["body"] == '{"a":1}' and plain["headers"]["X-M"] == "POST"


def test_native_keeps_todays_contract(tmp_path: Path) -> None:
    mod = _unique()
    fn = _load(tmp_path, "native", {f"{mod}.py": "def handle(p):\n    return p if isinstance(p, str) else [p]\n"},
               handler=f"{mod}:handle")
    assert fn.invoke("text", {"id": "1"}) == "text"
    assert fn.invoke({"a": 1}, {"id": "2"}) == '[{"a":1}]'


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="does not know the kind"):
        faasctl_kinds.load({"kind": "azure", "path": os.getcwd(), "handler": "x.y"})
