"""The one exception tree of faasctl, and the only place exit codes are decided.

    FaasctlError                  exit 1   anything else we anticipated
    ├── InternalError             exit 1   a bug: an unexpected error, its traceback printed
    ├── InvalidInput              exit 2   a bad name, value, file or archive
    ├── NotFound                  exit 3   unknown node, runtime, function or call
    ├── Conflict                  exit 4   it exists already / is in use
    ├── NodeUnreachable           exit 5   SSH or agent did not answer
    │   └── NotDelivered          exit 5   the request never left: safe to try elsewhere
    ├── HostKeyError              exit 6   unknown or changed SSH host key
    ├── AgentError                exit 7   the agent refused or failed the request
    │   ├── Busy                  exit 8   concurrency cap and queue full
    │   └── NotAuthorised         exit 14  this operator's key is not (or no longer) authorised on the node
    ├── FunctionFailed            exit 9   the function ran and failed (ERROR)
    ├── CallTimedOut              exit 10  the call hit its timeout (TIMEOUT)
    ├── StateError                exit 11  the state file is unusable
    ├── NodeSetupFailed           exit 12  the node was reached but a setup step failed
    └── NodesFailed               exit 13  a command over several nodes failed on some of them

Libraries' errors (sqlite, zmq, docker, paramiko) are converted where they are caught,
with `raise ... from exc`, so front ends handle this tree and nothing else.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    INVALID_INPUT = 2
    NOT_FOUND = 3
    CONFLICT = 4
    UNREACHABLE = 5
    HOST_KEY = 6
    AGENT = 7
    BUSY = 8
    FUNCTION_FAILED = 9
    TIMEOUT = 10
    STATE = 11
    NODE_SETUP = 12
    NODES_FAILED = 13
    NOT_AUTHORISED = 14
    INTERRUPTED = 130


class FaasctlError(Exception):
    exit_code = ExitCode.ERROR
    http_status = 500

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InvalidInput(FaasctlError):
    exit_code, http_status = ExitCode.INVALID_INPUT, 400


class NotFound(FaasctlError):
    exit_code, http_status = ExitCode.NOT_FOUND, 404


class Conflict(FaasctlError):
    exit_code, http_status = ExitCode.CONFLICT, 409


class NodeUnreachable(FaasctlError):
    exit_code, http_status = ExitCode.UNREACHABLE, 503


class NotDelivered(NodeUnreachable):
    """No handshake with the agent completed, so it cannot have received the request."""


class HostKeyError(FaasctlError):
    exit_code, http_status = ExitCode.HOST_KEY, 502


class AgentError(FaasctlError):
    exit_code, http_status = ExitCode.AGENT, 502


class Busy(AgentError):
    exit_code, http_status = ExitCode.BUSY, 429


class NotAuthorised(AgentError):
    """The node refused this operator's key: at the handshake, or per request once removed.
    Nothing ran there, so another node may still take a call."""

    exit_code, http_status = ExitCode.NOT_AUTHORISED, 403


class InternalError(FaasctlError):
    """Not the user's doing: something faasctl did not expect stopped it (a front end's own
    crash, reported after its traceback), so the hint asks for a report."""


class FunctionFailed(FaasctlError):
    exit_code, http_status = ExitCode.FUNCTION_FAILED, 200


class CallTimedOut(FaasctlError):
    exit_code, http_status = ExitCode.TIMEOUT, 200


class StateError(FaasctlError):
    exit_code, http_status = ExitCode.STATE, 500


class NodeSetupFailed(FaasctlError):
    """The node answered, but it lacks something (Docker, disk) or a bootstrap step failed."""

    exit_code, http_status = ExitCode.NODE_SETUP, 502


class NodesFailed(FaasctlError):
    """A command over several nodes (import, upgrade) failed on some; each node's line says why."""

    exit_code, http_status = ExitCode.NODES_FAILED, 502


# Agent error codes (faasctl_agent.protocol.E_*) to the error raised on this side.
AGENT_CODES: dict[str, type[FaasctlError]] = {
    "bad_request": InvalidInput,
    "bad_archive": InvalidInput,
    "not_found": NotFound,
    "busy": Busy,
    "unauthorized": NotAuthorised,
}


# Hints for storage errors on this side (state file, artifact cache), by their cause:
# a full disk must not be reported as a lock held by another faasctl.
LOW_SPACE_BYTES = 1024 * 1024
LOCK_HINT = "another faasctl may hold the lock; retry"


def disk_full_hint(path: object) -> str:
    return (f"the disk holding {path} is full: free space there (see `df -h {path}`) or set FAASCTL_HOME "
            "to a folder on a disk with room, then retry")


def disk_is_full(path: object) -> bool:
    """True if the filesystem under `path` (or its nearest existing parent) is nearly full."""
    import os

    folder = str(path)
    for _ in range(64):  # bounded walk up to an existing folder
        if os.path.isdir(folder) or folder in ("", os.sep):
            break
        folder = os.path.dirname(folder)
    try:
        stats = os.statvfs(folder or os.sep)
    except OSError:
        return False
    return stats.f_blocks > 0 and stats.f_bavail * stats.f_frsize < LOW_SPACE_BYTES  # /proc and kin: 0 blocks


def storage_hint(message: str, path: object, default: str) -> str:
    """The hint for an sqlite or file error on this side: disk full, lock, or `default`."""
    text = message.lower()
    if "disk is full" in text or "no space left" in text or disk_is_full(path):
        return disk_full_hint(path)
    if "locked" in text or "busy" in text:
        return LOCK_HINT
    return default
