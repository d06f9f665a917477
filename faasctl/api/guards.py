"""Request guards that run before any route: a body-size cap and a bearer token.

Both are plain ASGI middleware so they hold for every route, the seed's and /v1, and
for bodies FastAPI would otherwise parse (multipart spools to disk, JSON to memory).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """True only for addresses that cannot be reached from another machine.

    A host name other than localhost counts as not loopback: it could resolve anywhere.
    """
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def send_error(send: Send, status: int, error: str, hint: str,
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": error, "hint": hint}, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives an app the body already read, whole, then the real stream's
    next message (the disconnect, as ASGI apps wait for it)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class BodyLimit:
    """413 for a body over `max_body` bytes, judged by Content-Length and by what arrives.

    The body is read in full (up to the cap) before the app sees it, so a chunked upload
    that grows past the cap is refused before any route code runs and nothing changes.
    """

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hint = f"send at most {self.max_body} bytes, or restart serve with a larger --max-body-mb"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_body
            except ValueError:
                await send_error(send, 400, "Content-Length is not a number", "send a valid Content-Length")
                return
            if too_big:
                await send_error(send, 413, f"request body of {int(declared)} bytes is over the limit", hint,
                                 [(b"connection", b"close")])
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await send_error(send, 413, f"request body is over the limit of {self.max_body} bytes", hint,
                                 [(b"connection", b"close")])
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, replaying(b"".join(chunks), receive), send)


class BearerToken:
    """401 unless the request carries `Authorization: Bearer <token>` (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given: Any = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send_error(send, 401, "missing or wrong API token",
                                 "send `Authorization: Bearer <token>` with the token serve was started with",
                                 [(b"www-authenticate", b"Bearer")])
                return
        await self.app(scope, receive, send)
