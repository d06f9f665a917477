"""serve's hot routes (api/hot.py) against FastAPI's routes, in process over a real state
file: for real rows and for every refusal, the same status and the same JSON, and what the
hot path answers validates against the documented response models; the token and the body
cap still hold on the hot paths; a page whose unfinished calls a node holds is left to the
route that refreshes them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter

from faasctl.api.app import create_app
from faasctl.api.hot import HotRoutes
from faasctl.api.models import CallOut
from faasctl.config import Settings
from faasctl.core import listing
from faasctl.core.context import Context
from faasctl.state.db import transaction
from faasctl.state.models import Call, Function, Node, Runtime

PARAMS = [{"roll": "4d6"}, {"name": "Zoë ☃ 🎲", "n": [1, 2.5, None, True]}, "a string", 12345678901234567890123,
          None, [], {"deep": {"er": {"still": [{"x": -0.0}]}}}]


def _state(home: Path) -> Settings:
    settings = Settings(home=home)
    ctx = Context(settings)
    with transaction(ctx.engine) as s:
        s.add(Runtime(name="python", image="img"))
        s.add(Node(name="n1", zmq_endpoint="tcp://127.0.0.1:1", server_key="k"))
    with transaction(ctx.engine) as s:
        for name in ("dice", "other"):
            s.add(Function(name=name, runtime_name="python", version=2, digest="d" * 64))
        for i in range(60):
            final = ["DONE", "ERROR", "TIMEOUT", "LOST"][i % 4]
            s.add(Call(uid=f"u{i}", func_name="dice" if i % 3 else "other", version=1 + i % 2,
                       alias="live" if i % 5 == 0 else "", params=json.dumps(PARAMS[i % len(PARAMS)]),
                       status="PENDING" if i % 11 == 0 else final, result="é" * (i % 4), error="boom" if i % 4 else "",
                       node="" if i % 11 == 0 else "n1", start_kind="warm", queue_ms=0.125 if i % 2 else None,
                       run_ms=i / 7, is_async=i % 2 == 0, finished_at=None if i % 11 == 0 else 1.7e9 + i / 3))
    ctx.close()
    return settings


class Client:
    """The app in process (httpx's ASGI transport; the lifespan, with its prober, is not run)."""

    def __init__(self, app: FastAPI, headers: dict[str, str] | None = None) -> None:
        self.app, self.headers = app, headers or {}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://test",
                                         headers=self.headers) as c:
                response = await c.request(method, url, **kwargs)
                await response.aread()
                return response

        return asyncio.run(send())

    def get(self, url: str) -> httpx.Response:
        return self.request("GET", url)

    @property
    def hot(self) -> HotRoutes:
        layer: Any = self.app.middleware_stack
        while not isinstance(layer, HotRoutes):
            layer = layer.app
        return layer


Apps = tuple[Client, Client, Settings]


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    settings = _state(tmp_path_factory.mktemp("hot"))
    hot, plain = Client(create_app(Context(settings))), Client(create_app(Context(settings), hot=False))
    hot.get("/runtimes")  # the middleware stack is built at the first request
    yield hot, plain, settings
    for client in (hot, plain):
        client.app.state.core.close()


def _same(apps: Apps, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    hot, plain, _ = apps
    a, b = hot.request(method, url, **kwargs), plain.request(method, url, **kwargs)
    assert (a.status_code, a.json()) == (b.status_code, b.json()), url
    assert a.headers["content-type"] == "application/json"
    return a.status_code, a.json()


@pytest.mark.parametrize("query", ["", "?limit=20", "?limit=1", "?limit=100", "?limit=0100", "?function=dice",
                                   "?function=other&limit=7", "?status=DONE", "?status=LOST&function=dice&limit=3",
                                   "?function=nobody", "?status=PENDING", "?unknown=1&limit=2"])
def test_pages_of_calls_are_the_routes_own(apps: Apps, query: str) -> None:
    before = apps[0].hot.answered
    status, page = _same(apps, "GET", "/v1/calls" + query)
    assert status == 200
    assert apps[0].hot.answered == before + (0 if "unknown" in query else 1)
    models = TypeAdapter(list[CallOut]).validate_json(apps[0].get("/v1/calls" + query).content, strict=True)
    assert [m.model_dump(mode="json", by_alias=True) for m in models] == page  # nothing lost or added
    assert page == listing.list_calls(Context(apps[2]), *_filters(query))


def _filters(query: str) -> tuple[str, str, int]:
    args = dict(p.split("=") for p in query.lstrip("?").split("&") if p)
    return args.get("function", ""), args.get("status", ""), int(args.get("limit", 50))


@pytest.mark.parametrize("query", ["?limit=0", "?limit=1001", "?limit=abc", "?limit=%C2%B2", "?limit=", "?limit=-1",
                                   "?status=done", "?status=", "?function=" + "x" * 64, "?limit=5&limit=6",
                                   "?limit=200", "?limit=1000&function=dice"])
def test_queries_the_hot_path_leaves_alone_answer_as_before(apps: Apps, query: str) -> None:
    before = apps[0].hot.answered
    _same(apps, "GET", "/v1/calls" + query)
    assert apps[0].hot.answered == before


def test_seed_listings(apps: Apps) -> None:
    assert _same(apps, "GET", "/runtimes") == (200, ["python"])
    assert _same(apps, "GET", "/functions") == (200, ["dice", "other"])


@pytest.mark.parametrize(("body", "headers", "status", "hot"), [
    (b'{"funcName": "nobody", "params": {}}', {"content-type": "application/json"}, 404, True),
    (b'{"funcName": "nobody"}', {"content-type": "application/json; charset=utf-8"}, 404, True),
    (b'{"funcName": "dice", "params": NaN}', {"content-type": "application/json"}, 400, True),
    (b'{"funcName": "dice", "params": "\\ud800"}', {"content-type": "application/json"}, 400, True),
    (b'{"funcName": "dice", ', {"content-type": "application/json"}, 422, False),
    (b'{"funcName": 7}', {"content-type": "application/json"}, 422, False),
    (b'{"params": {}}', {"content-type": "application/json"}, 422, False),
    (b'[1, 2]', {"content-type": "application/json"}, 422, False),
    (b'{"funcName": "' + b"x" * 64 + b'"}', {"content-type": "application/json"}, 422, False),
    (b'{"funcName": "nobody"}', {"content-type": "text/plain"}, 422, False),
    (b'{"funcName": "nobody"}', {}, 422, False),  # FastAPI reads JSON only when told it is
    (b"", {"content-type": "application/json"}, 422, False),
])
def test_accepts_refused_as_before(apps: Apps, body: bytes, headers: dict[str, str], status: int, hot: bool) -> None:
    before = apps[0].hot.answered
    got, error = _same(apps, "POST", "/invokeFunction", content=body, headers=headers)
    assert got == status and error["error"] and "hint" in error
    assert apps[0].hot.answered == before + hot


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(("path", "body", "headers", "status", "hot"), [
    ("/v1/functions/nobody/invocations", b'{"params": {"a": [1, 2.5]}}', JSON, 404, True),
    ("/v1/functions/nobody/invocations", b'{"params": {}, "node": ""}', JSON, 404, True),
    ("/v1/functions/nobody/invocations", b"", {}, 404, True),
    ("/v1/functions/nobody/invocations", b"{}", {"content-type": "application/json; charset=utf-8"}, 404, True),
    ("/v1/functions/nobody/invocations?async=true", b"{}", JSON, 404, False),
    ("/v1/functions/nobody/invocations?version=2", b"{}", JSON, 404, False),
    ("/v1/functions/nobody/invocations?alias=live", b"{}", JSON, 404, False),
    ("/v1/functions/nobody/invocations", b'{"params": {}, "extra": 1}', JSON, 422, False),
    ("/v1/functions/nobody/invocations", b'{"params": NaN}', JSON, 400, False),
    ("/v1/functions/nobody/invocations", b'{"node": 5}', JSON, 422, False),
    ("/v1/functions/nobody/invocations", b'{"node": "' + b"n" * 64 + b'"}', JSON, 422, False),
    ("/v1/functions/nobody/invocations", b"[1]", JSON, 422, False),
    ("/v1/functions/nobody/invocations", b'{"params": {}', JSON, 422, False),
    ("/v1/functions/nobody/invocations", b'{"params": {}}', {"content-type": "text/plain"}, 422, False),
    ("/v1/functions/" + "x" * 64 + "/invocations", b"{}", JSON, 422, False),
])
def test_plain_sync_invocations_answer_as_the_route(apps: Apps, path: str, body: bytes, headers: dict[str, str],
                                                    status: int, hot: bool) -> None:
    before = apps[0].hot.answered
    got, error = _same(apps, "POST", path, content=body, headers=headers)
    assert got == status and (error.get("error") or error.get("detail"))
    assert apps[0].hot.answered == before + hot


def test_a_page_with_unfinished_calls_on_a_node_goes_to_the_refreshing_route(tmp_path: Path) -> None:
    ctx = Context(_state(tmp_path))
    with transaction(ctx.engine) as s:
        s.add(Call(uid="running", func_name="dice", params="{}", status="RUNNING", node="n1"))
    assert listing.page_as_is(ctx, "", "", 20, 20) is None  # on the page
    assert listing.page_as_is(ctx, "", "DONE", 5, 20) is None  # may have ended DONE
    assert listing.page_as_is(ctx, "other", "", 5, 20) == listing.list_calls(ctx, "other", "", 5)  # not that function


def test_guards_hold_on_the_hot_paths(tmp_path: Path) -> None:
    app = create_app(Context(_state(tmp_path)), token="s3cret", max_body=1000)
    anyone, operator = Client(app), Client(app, {"Authorization": "Bearer s3cret"})
    for method, url in (("GET", "/v1/calls"), ("GET", "/runtimes"), ("POST", "/invokeFunction")):
        refused = anyone.request(method, url, json={"funcName": "nobody"})
        assert refused.status_code == 401 and refused.json()["hint"]
    big = operator.request("POST", "/invokeFunction", json={"funcName": "dice", "params": "x" * 1000})
    assert big.status_code == 413 and big.json()["hint"]
    assert operator.get("/v1/calls?limit=2").status_code == 200
    assert operator.hot.answered == 1
    app.state.core.close()
