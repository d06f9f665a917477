"""Large results (issue 12) through the real agent, a real container and the state file.

A result of RAW_MIN characters or more leaves the runner as raw bytes after a header
line, and the agent sends it to faasctl as a raw ZeroMQ frame; smaller ones stay inside
the JSON. Either way the result must come back byte for byte (quotes, backslashes,
newlines and characters past ASCII included), land in the call record, and a result
over the limit must still fail with the limit's error. A caller that does not ask for
the frame (an older faasctl) and a runner that writes only JSON lines (Node's
runner.js) must still get whole results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import zmq
from faasctl_agent import protocol

from tests.support.platform import Platform

pytestmark = pytest.mark.integration

# JSON escapes the first six; the last two are two and four bytes of UTF-8.
UNIT = 'ab"\\\n\t/é😀'
BODY = f"UNIT = {UNIT!r}\n\ndef handle(p):\n    n = int(p['n'])\n    return (UNIT * (n // len(UNIT) + 1))[:n]\n"
TEN_MB = 10_000_000
RAW_MIN = protocol.RESULT_FRAME_MIN  # the runner's RAW_MIN is the same figure


def expected(n: int) -> str:
    return (UNIT * (n // len(UNIT) + 1))[:n]


@pytest.fixture(scope="module")
def big(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> str:
    src = tmp_path_factory.mktemp("large") / "large"
    src.mkdir()
    (src / "main.py").write_text(BODY)
    platform.cli("fn", "deploy", "large", str(src), "--runtime", "python", "--handler", "main:handle",
                 "--memory", "512", "--preload", "function", "--min-warm", "1")
    return "large"


def counters(platform: Platform) -> dict[str, int]:
    return dict(json.loads(platform.cli("node", "status", "local", "--json").stdout)["counters"])


def cli_invoke(platform: Platform, name: str, n: int) -> dict[str, Any]:
    proc = platform.cli("invoke", name, "--json", "-p", f"n={n}", check=False)
    assert proc.stdout, proc.stderr
    call: dict[str, Any] = json.loads(proc.stdout)
    return call


@pytest.mark.parametrize("n", [RAW_MIN - 1, RAW_MIN, TEN_MB])
def test_result_comes_back_byte_exact_and_is_recorded(platform: Platform, big: str, n: int) -> None:
    before = counters(platform)
    call = cli_invoke(platform, big, n)
    assert call["status"] == "DONE", call["error"]
    assert call["result"] == expected(n)
    stored = json.loads(platform.cli("call", "get", str(call["callNum"]), "--json").stdout)
    assert stored["result"] == expected(n)
    after = counters(platform)
    raw = after.get("results_raw", 0) - before.get("results_raw", 0)
    frames = after.get("result_frames", 0) - before.get("result_frames", 0)
    assert (raw, frames) == ((1, 1) if n >= RAW_MIN else (0, 0))


def test_core_invoke_returns_and_records_ten_megabytes(platform: Platform, big: str) -> None:
    from faasctl.core.invoke import invoke
    from faasctl.state import fastpath

    ctx = platform.context()
    record = invoke(ctx, big, {"n": TEN_MB})
    assert record["status"] == "DONE" and record["result"] == expected(TEN_MB)
    conn = fastpath.connect(platform.home / "state.db")
    try:  # a new connection: what is on file, not what the writer returned
        row = conn.execute("SELECT uid, status, result FROM call WHERE call_num=?", (record["callNum"],)).fetchone()
        target = fastpath.target(conn, big)
    finally:
        conn.close()
    assert (row["status"], row["result"]) == ("DONE", expected(TEN_MB))
    # the agent's journal has it too, and its `call` answer (how `call get` brings an
    # unfinished record up to date) carries it as a raw frame as well
    before = counters(platform)
    journalled = ctx.client(target["nodes"][0], target["identity"]).request("call", {"call_id": row["uid"]})
    assert (journalled["status"], journalled["result"]) == ("DONE", expected(TEN_MB))
    assert counters(platform).get("result_frames", 0) == before.get("result_frames", 0) + 1


def test_result_over_the_limit_still_fails_with_the_limit(platform: Platform, big: str) -> None:
    over = cli_invoke(platform, big, 32 * 1024 * 1024 + 1)
    assert over["status"] == "ERROR"
    assert "result over its limit" in over["error"] and "32 MiB" in over["error"], over["error"]
    assert cli_invoke(platform, big, RAW_MIN)["result"] == expected(RAW_MIN)  # the container still serves


def test_a_caller_that_does_not_ask_for_the_frame_gets_json(platform: Platform, big: str) -> None:
    """An older faasctl sends no RESULT_FRAME flag: one JSON frame, the result inside."""
    from faasctl.state import fastpath

    conn = fastpath.connect(platform.home / "state.db")
    try:
        target = fastpath.target(conn, big)
    finally:
        conn.close()
    node, identity = target["nodes"][0], target["identity"]
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.curve_serverkey = node["server_key"].encode()
    sock.curve_publickey, sock.curve_secretkey = identity["public"].encode(), identity["secret"].encode()
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(node["zmq_endpoint"])
        args = {"call_id": "old-client-1", "function": big, "digest": target["function"]["digest"],
                "params": {"n": TEN_MB}}
        sock.send(protocol.request("r-old", "invoke", args))
        assert sock.poll(120_000, zmq.POLLIN), "the agent did not answer"
        frame = sock.recv()
        assert not sock.getsockopt(zmq.RCVMORE)
    finally:
        sock.close()
    reply = protocol.decode(frame)
    assert reply["ok"] and reply["data"]["status"] == "DONE", reply
    assert protocol.RESULT_FRAME not in reply["data"]
    assert reply["data"]["result"] == expected(TEN_MB)


NODE_BODY = ("const UNIT = " + json.dumps(UNIT) + ";\n"
             "module.exports.handle = async (p) => UNIT.repeat(Math.floor(p.n / UNIT.length) + 1).slice(0, p.n);\n")


def test_a_runner_that_writes_only_json_lines_still_delivers(platform: Platform, tmp_path: Path) -> None:
    """runner.js ignores "raw" and sends the whole result in its JSON line."""
    proc = platform.cli("runtime", "add", "node", check=False)
    if proc.returncode != 0:  # tests never skip (tests/conftest.py): say why, plainly
        pytest.fail(f"the node runtime image could not be built ({proc.stderr.strip()}); run scripts/setup.sh")
    src = tmp_path / "large-node"
    src.mkdir()
    (src / "index.js").write_text(NODE_BODY)
    platform.cli("fn", "deploy", "large-node", str(src), "--runtime", "node", "--handler", "index:handle",
                 "--memory", "512")
    before = counters(platform)
    units = len(UNIT.encode("utf-16-le")) // 2  # JavaScript's length: the emoji counts two
    n = 300_000 * units  # whole units: no emoji cut in half
    call = cli_invoke(platform, "large-node", n)
    assert call["status"] == "DONE", call["error"]
    assert call["result"] == UNIT * 300_000
    after = counters(platform)
    assert after.get("results_raw", 0) == before.get("results_raw", 0)  # it came as a JSON line
    assert after.get("result_frames", 0) == before.get("result_frames", 0) + 1  # and left as a frame
