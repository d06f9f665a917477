"""Pure rules of the API layer: seed runtime names, loopback detection, image references,
and the body cap, the latter through the ASGI app in-process (no route is reached)."""

from __future__ import annotations

import asyncio

import pytest

from faasctl.api.guards import BodyLimit, is_loopback
from faasctl.api.seed import runtime_name_for
from faasctl.core.runtimes import valid_image
from faasctl.errors import InvalidInput


@pytest.mark.parametrize(("image", "name"), [
    ("pythonruntime", "pythonruntime"),
    ("faasctl/rt-python:dcdc6bc4511c", "faasctl-rt-python-dcdc6bc4511c"),
    ("Registry.example:5000/Team/Img:1.2", "registry-example-5000-team-img-1-2"),
    ("_x_", "x"),
])
def test_seed_runtime_names(image: str, name: str) -> None:
    assert runtime_name_for(image) == name


@pytest.mark.parametrize("image", ["///", "::", ""])
def test_seed_runtime_name_refused(image: str) -> None:
    with pytest.raises(InvalidInput):
        runtime_name_for(image)


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("example.com", False), ("", False),
])
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("image", "ok"), [
    ("pythonruntime", True), ("python:3.12-slim", True), ("faasctl/rt-python:abc", True),
    ("localhost:5000/a/b:c", True), ("docker.io/library/python@sha256:" + "a" * 64, True),
    ("Foo/bar", False), ("a b", False), ("a:", False), ("/a", False), ("È§)o2", False), ("a:È", False),
])
def test_image_references(image: str, ok: bool) -> None:
    assert valid_image(image) is ok


def run_limited(body_chunks: list[bytes], headers: list[tuple[bytes, bytes]], limit: int) -> tuple[int, bytes]:
    """Send a request through BodyLimit to an app that echoes the body size."""
    sent: list[dict] = []
    incoming = [{"type": "http.request", "body": c, "more_body": i < len(body_chunks) - 1}
                for i, c in enumerate(body_chunks)]

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})

    async def receive() -> dict:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(msg: dict) -> None:
        sent.append(msg)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    asyncio.run(BodyLimit(app, limit)(scope, receive, send))  # type: ignore[arg-type]
    return sent[0]["status"], sent[1]["body"]


def test_body_limit_by_declared_length() -> None:
    assert run_limited([b"x" * 11], [(b"content-length", b"11")], 10)[0] == 413
    assert run_limited([b"x" * 10], [(b"content-length", b"10")], 10) == (200, b"10")


def test_body_limit_by_streamed_length() -> None:
    status, body = run_limited([b"x" * 6, b"x" * 6], [], 10)  # chunked: no Content-Length
    assert status == 413 and b"over the limit" in body
    assert run_limited([b"x" * 5, b"x" * 5], [], 10) == (200, b"10")
