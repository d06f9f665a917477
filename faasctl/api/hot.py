"""Serve's hot routes, answered ahead of FastAPI's router: the seed's `GET /runtimes`,
`GET /functions` and `POST /invokeFunction`, `GET /v1/calls`, and a plain sync
`POST /v1/functions/NAME/invocations`.

Why: under wrk at 16 connections (bench/serve.py, docs/benchmarks.md) FastAPI spent most
of these requests outside the route: matching the path against about 35 routes, solving
the parameters, and validating then serialising the response model (about 25 us per call
record). Here a request is one dictionary lookup, a few checks and one JSON encoding.

It is plain ASGI middleware added inside the guards (app.py), so the token and the body
cap hold as for every route. It answers only the plain case of its paths. A request it
is not sure of (a query key it does not know or given twice, a value out of the route's
bounds, a body that is not a JSON object with a string `funcName`, a page of calls whose
unfinished ones must first be refreshed from their nodes) goes on untouched to the
FastAPI route, which answers it, errors included, as before. The documents are the same:
the response models stay the contract, and tests/unit/test_api_hot.py compares the two
ways for real rows and for the refusals.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from faasctl_agent.names import NAME_MAX
from faasctl_agent.protocol import STATUSES
from pydantic_core import from_json, to_json
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core import invoke, listing
from ..core.runner import CoreRunner
from ..errors import FaasctlError
from .deps import CALLS_FUNCTION_MAX, CALLS_LIMIT, INLINE_ROWS, LIST_REFRESH
from .guards import replaying
from .models import CallOut

Handler = Callable[["HotRoutes", Scope, bytes, Send], Awaitable[bool]]
SEED_CALL_FIELDS = ("funcName", "params", "callNum", "status", "result")  # seed.SeedCall's, in its order
CALL_FIELDS = tuple(field.alias or name for name, field in CallOut.model_fields.items())  # CallOut's, in order
INVOCATIONS = ("/v1/functions/", "/invocations")


async def send_json(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def query(scope: Scope, known: tuple[str, ...]) -> dict[str, str] | None:
    """The query's values (decoded as Starlette does), or None if a key is unknown or repeated."""
    pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    args = dict(pairs)
    if len(args) != len(pairs) or not args.keys() <= set(known):
        return None
    return args


def is_json(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"content-type":
            kind: bytes = value.split(b";")[0].strip().lower()
            return kind == b"application/json"
    return False


class HotRoutes:
    def __init__(self, app: ASGIApp, core: CoreRunner) -> None:
        self.app, self.core = app, core
        self.answered = 0  # requests answered here, not passed on (the tests read it)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = route(scope)
        if handler is None:
            await self.app(scope, receive, send)
            return
        body = b""
        if scope["method"] == "POST":  # the body cap (guards.BodyLimit) has read it already: one message
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
        if await handler(self, scope, body, send):
            self.answered += 1
            return
        await self.app(scope, replaying(body, receive), send)

    async def names(self, table: str, send: Send) -> bool:
        await send_json(send, 200, to_json(self.core.read(listing.names, table)))
        return True

    async def runtimes(self, scope: Scope, body: bytes, send: Send) -> bool:
        return await self.names("runtime", send)

    async def functions(self, scope: Scope, body: bytes, send: Send) -> bool:
        return await self.names("function", send)

    async def calls(self, scope: Scope, body: bytes, send: Send) -> bool:
        """A page of calls read on the event loop, when v1.list_calls would read it there too."""
        args = query(scope, ("function", "status", "limit"))
        if args is None:
            return False
        function, status, limit = args.get("function", ""), args.get("status"), args.get("limit")
        if len(function) > CALLS_FUNCTION_MAX or (status is not None and status not in STATUSES):
            return False
        if limit is not None and not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= CALLS_LIMIT[1]):
            return False
        rows = CALLS_LIMIT[0] if limit is None else int(limit)
        if rows > INLINE_ROWS:
            return False  # deps.page_of_calls sends it to a core thread
        page = self.core.read(listing.page_as_is, function, status or "", rows, LIST_REFRESH, from_json)
        if page is None:
            return False  # a core thread refreshes its unfinished calls first
        await send_json(send, 200, to_json(page))
        return True

    async def invoke(self, scope: Scope, body: bytes, send: Send) -> bool:
        """The seed's async accept: the call as seed.invoke_function answers it."""
        if not is_json(scope):
            return False
        try:
            data = json.loads(body)  # as Starlette's Request.json() reads it
        except ValueError:
            return False
        if not isinstance(data, dict) or not isinstance(data.get("funcName"), str) or len(data["funcName"]) > NAME_MAX:
            return False
        try:
            record = await self.core(invoke.invoke, data["funcName"], data.get("params", {}), is_async=True)
        except FaasctlError as exc:  # as app.error_response answers it
            await send_json(send, exc.http_status, to_json({"error": exc.message, "hint": exc.hint}))
            return True
        await send_json(send, 200, to_json({key: record[key] for key in SEED_CALL_FIELDS}))
        return True

    async def invocation(self, scope: Scope, body: bytes, send: Send) -> bool:
        """A sync call of what a plain name calls: no query, a body of at most `params` and
        `node`. Anything else (async, a version, an alias) is the FastAPI route's."""
        name = scope["path"][len(INVOCATIONS[0]):-len(INVOCATIONS[1])]
        if not name or "/" in name or len(name) > NAME_MAX or scope["query_string"]:
            return False
        data: Any = {}
        if body:
            if not is_json(scope):
                return False
            try:
                data = json.loads(body, parse_constant=_refuse)  # NaN is the route's to refuse
            except ValueError:
                return False
            if not isinstance(data, dict) or not data.keys() <= {"params", "node"}:
                return False
        node = data.get("node", "")
        if not isinstance(node, str) or len(node) > NAME_MAX:
            return False
        try:
            record = await self.core(invoke.invoke, name, data.get("params", {}), node=node)
        except FaasctlError as exc:
            await send_json(send, exc.http_status, to_json({"error": exc.message, "hint": exc.hint}))
            return True
        await send_json(send, 200, to_json({key: record[key] for key in CALL_FIELDS}))
        return True


def _refuse(constant: str) -> Any:
    raise ValueError(constant)


def route(scope: Scope) -> Handler | None:
    if scope["type"] != "http":
        return None
    method, path = scope.get("method", ""), scope.get("path", "")
    handler = ROUTES.get((method, path))
    if handler is None and method == "POST" and path.startswith(INVOCATIONS[0]) and path.endswith(INVOCATIONS[1]):
        return HotRoutes.invocation
    return handler


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/runtimes"): HotRoutes.runtimes,
    ("GET", "/functions"): HotRoutes.functions,
    ("GET", "/v1/calls"): HotRoutes.calls,
    ("POST", "/invokeFunction"): HotRoutes.invoke,
}
