"""The one versioned message schema between faasctl and its agents.

Every message is one JSON object in one ZeroMQ frame (a reply carrying a large result
may add one raw frame, see RESULT_FRAME). A request names an operation and carries its
arguments; a reply echoes the request id and is either ``ok`` with data or carries a
typed error that the CLI turns into an exit code and a hint. Bumping
``VERSION`` is the only way to change a message's meaning; a peer that speaks another
version gets a clear error instead of a misread field.
"""

from __future__ import annotations

import json
from typing import Any

VERSION = 1

# Operations the agent answers. Kept as plain strings so the schema stays readable on
# the wire and in logs.
OPS = frozenset(
    {
        "hello",  # version handshake and identity
        "status",  # load, warm containers, journal counts
        "build_runtime",  # build or check a runtime image from a pushed context
        "deploy",  # make a pushed artifact runnable (code volume, dependencies); `activate`: the active version
        "invoke",  # run one call, sync or async
        "call",  # a journalled call by id
        "remove_function",  # stop and forget a function's containers, every version
        "versions",  # the versions a node holds per function, the active one, warm and busy
        "forget_versions",  # drop old versions and free what only they used (artifacts, volumes, images)
        "secret_put",  # store a secret's value (0600); optionally recycle the containers using it
        "secret_rm",  # forget a secret no deployed function uses
        "operators",  # replace the set of operators' keys allowed in (none given: list them)
    }
)

# A call's statuses. A final one never changes again; the failed ones count as errors.
STATUSES = ("PENDING", "RUNNING", "DONE", "ERROR", "TIMEOUT", "LOST")
FAILED = ("ERROR", "TIMEOUT", "LOST")
FINAL = ("DONE",) + FAILED

# A deploy's policy arguments (preload, limits...) are the fields of `policy.Policy`.

# Error codes are part of the schema: the CLI maps each to one exit code.
E_PROTOCOL = "protocol"  # malformed message or unknown version
E_BAD_REQUEST = "bad_request"  # well-formed but invalid arguments
E_NOT_FOUND = "not_found"  # unknown function, artifact, runtime or call
E_BAD_ARCHIVE = "bad_archive"  # refused archive (paths, links, size, format)
E_BUSY = "busy"  # concurrency cap reached and the wait queue is full
E_RUNTIME = "runtime"  # image build, dependency install or container failure
E_INTERNAL = "internal"  # a bug in the agent
E_UNAUTHORIZED = "unauthorized"  # the sender's key was removed after its connection was made


class ProtocolError(Exception):
    """A message that cannot be understood; reported back with ``E_PROTOCOL``."""


class AgentFailure(Exception):
    """A typed failure raised inside the agent and sent back as an error reply."""

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


# A large result as a raw frame of its own (issue 12): an invoke (or call) request whose args say
# RESULT_FRAME gets, for a string result of RESULT_FRAME_MIN bytes or more, a reply whose
# data has RESULT_FRAME set and no "result", followed by a second frame holding the
# result's UTF-8 bytes. Neither side then escapes or parses megabytes of JSON. A peer
# that does not know the flag neither sends nor asks for it: additive, VERSION stays 1.
RESULT_FRAME = "result_frame"
RESULT_FRAME_MIN = 64 * 1024
RESULT_FRAME_OPS = frozenset({"invoke", "call"})  # the replies that carry a call's result


def split_result(data: dict[str, Any], asked: bool) -> tuple[dict[str, Any], list[bytes]]:
    """(data without a large result, [the result's bytes]) when `asked`; else unchanged."""
    result = data.get("result")
    if not asked or not isinstance(result, str) or len(result) < RESULT_FRAME_MIN:
        return data, []
    try:
        raw = result.encode()
    except UnicodeEncodeError:  # a lone surrogate: JSON escapes it, UTF-8 cannot carry it
        return data, []
    rest = {k: v for k, v in data.items() if k != "result"}
    rest[RESULT_FRAME] = True
    return rest, [raw]


def join_result(msg: dict[str, Any], extra: list[Any]) -> dict[str, Any]:
    """Put a reply's raw result frame back as data["result"] (see split_result)."""
    data = msg.get("data")
    if isinstance(data, dict) and data.pop(RESULT_FRAME, False):
        if not extra:
            raise ProtocolError("the reply announced a result frame but has none")
        try:
            data["result"] = str(memoryview(extra[0]), "utf-8")  # a zmq.Frame or bytes, not copied first
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"the result frame is not UTF-8: {exc}") from exc
    return msg


def request(req_id: str, op: str, args: dict[str, Any] | None = None) -> bytes:
    return _dump({"v": VERSION, "id": req_id, "op": op, "args": args or {}})


def ok(req_id: str, data: dict[str, Any] | None = None) -> bytes:
    return _dump({"v": VERSION, "id": req_id, "ok": True, "data": data or {}})


def error(req_id: str, code: str, message: str, hint: str = "") -> bytes:
    body = {"code": code, "message": message, "hint": hint}
    return _dump({"v": VERSION, "id": req_id, "ok": False, "error": body})


def decode(frame: bytes) -> dict[str, Any]:
    """Parse one frame and check its version; raises ProtocolError with the reason."""
    try:
        msg = json.loads(frame)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not a JSON message: {exc}") from exc
    if not isinstance(msg, dict):
        raise ProtocolError("a message must be a JSON object")
    version = msg.get("v")
    if version != VERSION:
        raise ProtocolError(
            f"protocol version {version!r} is not supported (this side speaks {VERSION})"
        )
    if not isinstance(msg.get("id"), str):
        raise ProtocolError("message has no string 'id'")
    return msg


def decode_request(frame: bytes) -> tuple[str, str, dict[str, Any]]:
    msg = decode(frame)
    op, args = msg.get("op"), msg.get("args", {})
    if op not in OPS:
        raise ProtocolError(f"unknown operation {op!r}")
    if not isinstance(args, dict):
        raise ProtocolError("'args' must be an object")
    return msg["id"], op, args


def _dump(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode()
