"""RemoteSource turns serve's error answers back into the errors.py classes (no network:
the mapping is a pure function of the status and body); a real serve is in
tests/integration/test_dashboard_sources.py."""

from __future__ import annotations

import json

import pytest

from faasctl.dashboard.remote import RemoteSource
from faasctl.errors import AgentError, Busy, Conflict, FaasctlError, InvalidInput, NodeUnreachable, NotFound


def body(error: str, hint: str = "") -> bytes:
    return json.dumps({"error": error, "hint": hint}).encode()


@pytest.mark.parametrize(("status", "cls"), [
    (400, InvalidInput), (401, InvalidInput), (404, NotFound), (409, Conflict), (413, InvalidInput),
    (422, InvalidInput), (429, Busy), (502, AgentError), (503, NodeUnreachable), (500, FaasctlError),
])
def test_status_maps_to_the_class_the_server_raised(status: int, cls: type[FaasctlError]) -> None:
    exc = RemoteSource("http://127.0.0.1:1")._error(status, body("what", "do this"))
    assert type(exc) is cls and exc.message == "what" and exc.hint.startswith("do this")


def test_a_wrong_token_hint_names_the_token_file() -> None:
    exc = RemoteSource("http://h:3000")._error(401, body("missing or wrong API token", "send it"))
    assert "--token-file" in exc.hint


def test_a_body_that_is_not_json_still_gives_a_message() -> None:
    exc = RemoteSource("http://h:3000/")._error(502, b"<html>bad gateway</html>")
    assert isinstance(exc, AgentError) and "bad gateway" in exc.message
    assert RemoteSource("http://h:3000/")._error(503, b"").message == "HTTP 503 from http://h:3000"


def test_only_http_urls() -> None:
    with pytest.raises(InvalidInput):
        RemoteSource("h:3000")
    assert RemoteSource("https://h/").label == "https://h"
