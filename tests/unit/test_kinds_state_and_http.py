"""The parts of issue 13 around the runner: the kind column reaching state files made
before it (migration 0006, on a file with only some of the first release's tables), the
runner volume holding every runner module, and how serve's /function route turns an
HTTP request into params and a call's result into a response."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from pathlib import Path

from faasctl_agent.volumes import VolumeOps

from faasctl.api import functions_http
from faasctl.state import fastpath, migrate, reads, revision
from faasctl.state.db import open_engine

OLD_TABLES = """
CREATE TABLE runtime (name VARCHAR PRIMARY KEY, image VARCHAR NOT NULL);
CREATE TABLE function (name VARCHAR PRIMARY KEY, runtime_name VARCHAR, version INTEGER, digest VARCHAR,
    mode VARCHAR, handler VARCHAR, policy VARCHAR, placement VARCHAR, pinned VARCHAR, created_at FLOAT,
    updated_at FLOAT);
CREATE TABLE function_version (id INTEGER PRIMARY KEY, function_name VARCHAR, version INTEGER, digest VARCHAR,
    filename VARCHAR, size INTEGER, created_at FLOAT);
INSERT INTO function VALUES ('dice', 'python', 2, 'd2', 'command', '', '{}', 'round-robin', '[]', 0, 0);
INSERT INTO function VALUES ('sizes', 'python', 1, 's1', 'handler', 'main:handle', '{}', 'round-robin', '[]', 0, 0);
INSERT INTO function_version VALUES (1, 'dice', 1, 'd1', '', 0, 0), (2, 'dice', 2, 'd2', '', 0, 0),
    (3, 'sizes', 1, 's1', '', 0, 0);
"""


def test_a_file_made_before_kinds_gets_the_column_with_its_meaning(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as old:
        old.executescript(OLD_TABLES)
    open_engine(path).dispose()  # any faasctl that opens the file with the ORM
    conn = fastpath.connect(path)
    kinds = {r["name"]: r["kind"] for r in reads.select(conn, "function")}
    assert kinds == {"dice": "command", "sizes": "native"}
    versions = {(r["function_name"], r["version"]): r["kind"] for r in reads.select(conn, "function_version")}
    assert versions == {("dice", 1): "command", ("dice", 2): "command", ("sizes", 1): "native"}
    assert revision.read(conn) == revision.HEAD
    migrate.ensure(conn, path)  # a second time: nothing left to add
    assert [r[1] for r in conn.execute("PRAGMA table_info(function)")].count("kind") == 1


def test_the_runner_volume_holds_every_runner_module() -> None:
    ops = VolumeOps()
    ops.node = "n1"
    name, tar = ops.runner_source()
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        names = sorted(tf.getnames())
    assert names == ["command.js", "faasctl_command.py", "faasctl_http.py", "faasctl_kinds.py", "lambda.js",
                     "runner.js", "runner.py", "ustar.js"]
    assert name.startswith("faasctl-n1-runner-") and ops.runner_source()[0] == name  # named by content


def test_params_from_an_http_request() -> None:
    assert functions_http.params_of("native", b"", "roll=4d6&x=") == {"roll": "4d6", "x": ""}
    assert functions_http.params_of("native", b'{"a": [1]}', "") == {"a": [1]}
    assert functions_http.params_of("openfaas", b"plain words", "") == "plain words"
    assert functions_http.params_of("lambda", b"\xff\x00", "") is None
    try:
        functions_http.params_of("openwhisk", b"\xff\x00", "")
    except Exception as exc:  # noqa: BLE001
        assert "binary" in str(exc)
    else:
        raise AssertionError("a binary body to an openwhisk function was taken")


def test_a_result_becomes_the_functions_http_response() -> None:
    proxy = {"statusCode": 418, "headers": {"X-One": "1"}, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
             "body": "aGk=", "isBase64Encoded": True}
    resp = functions_http.respond("lambda", {"callNum": 7, "status": "DONE", "result": json.dumps(proxy)})
    assert resp.status_code == 418 and resp.body == b"hi"
    headers = [(k.decode(), v.decode()) for k, v in resp.raw_headers]
    assert ("set-cookie", "a=1") in headers and ("set-cookie", "b=2") in headers and ("x-one", "1") in headers
    assert ("x-faasctl-call", "7") in headers
    bad = functions_http.respond("openfaas-http", {"callNum": 8, "status": "DONE", "result": '{"body": "x"}'})
    assert bad.status_code == 502
    text = functions_http.respond("native", {"callNum": 9, "status": "DONE", "result": "plain"})
    assert text.status_code == 200 and text.media_type.startswith("text/plain")
    data = functions_http.respond("openwhisk", {"callNum": 9, "status": "DONE", "result": '{"a":1}'})
    assert data.media_type == "application/json" and data.body == b'{"a":1}'
    failed = functions_http.respond("native", {"callNum": 3, "status": "ERROR", "error": "Trace\nValueError: no"})
    assert failed.status_code == 500 and json.loads(failed.body)["error"] == "call 3 failed: ValueError: no"
    slow = functions_http.respond("lambda", {"callNum": 4, "status": "TIMEOUT", "error": "no result within 1 s"})
    assert slow.status_code == 504


def test_a_functions_answer_cannot_break_http() -> None:
    proxy = {"statusCode": 204, "headers": {"X-Split": "a\r\nInjected: 1", "Bad Name": "x", "X-Fine": "ok",
                                            "Content-Length": "99"}, "body": "dropped"}
    resp = functions_http.respond("lambda", {"callNum": 1, "status": "DONE", "result": json.dumps(proxy)})
    names = [k.decode() for k, _ in resp.raw_headers]
    assert resp.status_code == 204 and resp.body == b"" and "x-fine" in names
    assert "x-split" not in names and "bad name" not in names and "content-length" not in names
    informational = {"statusCode": 101, "body": ""}
    assert functions_http.respond("lambda", {"callNum": 2, "status": "DONE",
                                             "result": json.dumps(informational)}).status_code == 502
