"""The wire schema: versioning and error shapes."""

from __future__ import annotations

import json

import pytest
from faasctl_agent import protocol


def test_request_round_trip() -> None:
    frame = protocol.request("r1", "invoke", {"function": "dice"})
    assert protocol.decode_request(frame) == ("r1", "invoke", {"function": "dice"})


@pytest.mark.parametrize("frame,reason", [
    (b"not json", "not a JSON message"),
    (b"[1]", "JSON object"),
    (json.dumps({"v": 99, "id": "x", "op": "hello"}).encode(), "version 99 is not supported"),
    (json.dumps({"v": protocol.VERSION, "op": "hello"}).encode(), "no string 'id'"),
    (json.dumps({"v": protocol.VERSION, "id": "x", "op": "rm -rf"}).encode(), "unknown operation"),
])
def test_bad_frames_are_refused_with_reason(frame: bytes, reason: str) -> None:
    with pytest.raises(protocol.ProtocolError, match=reason):
        protocol.decode_request(frame)


def test_error_reply_maps_to_exit_codes() -> None:
    from faasctl.errors import AGENT_CODES, Busy, ExitCode, NotFound

    reply = protocol.decode(protocol.error("r", protocol.E_BUSY, "full", "later"))
    assert reply["ok"] is False and reply["error"]["code"] == "busy"
    assert AGENT_CODES["busy"] is Busy and Busy.exit_code == ExitCode.BUSY
    assert AGENT_CODES["not_found"] is NotFound


def test_shutdown_is_not_an_operation() -> None:
    """Nothing ever sent it (the agent stops on SIGTERM): an agent refuses it like any unknown op."""
    assert "shutdown" not in protocol.OPS
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_request(protocol.request("r1", "shutdown"))
