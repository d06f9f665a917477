"""The ASGI app of `faasctl serve`: the seed's routes, /v1, and the one error mapping.

Routes are thin: they parse the request, run a core function in a core thread (see
`core.runner`), and shape the answer. Every error a route can meet is a FaasctlError from
the core, a validation error from FastAPI, or an HTTP error from routing; each becomes
`{"error": ..., "hint": ...}` here and nowhere else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..core.context import Context
from ..core.runner import CoreRunner
from ..errors import FaasctlError
from .guards import BearerToken, BodyLimit
from .models import ErrorBody

log = logging.getLogger("faasctl.api")

DEFAULT_MAX_BODY = 64 * 1024 * 1024
# How `serve --workers N` hands its settings to the worker processes uvicorn spawns:
# they import `from_environment` by name, so nothing else reaches them.
TOKEN_VAR, MAX_BODY_VAR = "FAASCTL_SERVE_TOKEN", "FAASCTL_SERVE_MAX_BODY"
ERROR_STATUSES = {
    400: "Bad input (name, value, archive); nothing was changed",
    401: "Missing or wrong API token",
    404: "Unknown node, runtime, function or call",
    409: "It exists already or is in use",
    413: "Request body over the limit",
    422: "The request does not match the schema (malformed JSON, missing or mistyped field)",
    429: "The function's concurrency cap and queue are full",
    502: "A node's agent refused or failed the request",
    503: "No node holding the function answered",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in ERROR_STATUSES.items()
}
DESCRIPTION = """\
The faasctl platform over HTTP. The unversioned routes (`/registerRuntime`,
`/registerFunction/{runtime}/{funcName}`, `/invokeFunction`, `/runtimes`, `/functions`,
`/calls`, `/call/{callNum}`) answer exactly as the seed platform's API did; `/v1` is the
resource-oriented API for new clients. Errors are `{"error": ..., "hint": ...}`.
`ANY /function/{name}[/{path}]` calls a function with the HTTP request itself (not in
this document: each function answers in its own way; see docs/functions.md).
"""


def error_response(status: int, error: str, hint: str = "", detail: list[Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(error=error, hint=hint, detail=detail).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FaasctlError)
    async def _faasctl(_: Request, exc: FaasctlError) -> JSONResponse:
        return error_response(exc.http_status, exc.message, exc.hint)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Only loc/msg/type: echoing `input` could hold values JSON cannot carry (NaN, bytes).
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return error_response(422, f"{where}: {first['msg']}" if where else str(first["msg"]),
                              "see /openapi.json for this route's request schema", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        hint = "see /openapi.json (or /docs) for the routes" if exc.status_code in (404, 405) else ""
        return error_response(exc.status_code, str(exc.detail), hint, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}",
                              "this is a bug in faasctl; the serve log has the traceback")


def create_app(ctx: Context | None = None, token: str | None = None, max_body: int = DEFAULT_MAX_BODY,
               hot: bool = True) -> FastAPI:
    """Build the app over one state file (ctx's settings). `token`, if set, is required on every
    request. `hot=False` sends every request through FastAPI's router (tests compare the two)."""
    import asyncio

    from . import functions_http, seed, v1, versions
    from .hot import HotRoutes
    from .prober import Prober

    core = CoreRunner(ctx or Context())
    prober = Prober(core.template)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(prober.run())  # suspect nodes are probed here, not by requests
        yield
        prober.stop()
        await task
        prober.close()
        core.close()

    app = FastAPI(title="faasctl", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  responses=ERROR_RESPONSES)
    app.state.core = core
    install_error_handlers(app)
    app.include_router(seed.router)
    app.include_router(v1.router)
    app.include_router(versions.router)
    app.include_router(functions_http.router)
    if hot:  # added first, so it runs after the guards (hot.py)
        app.add_middleware(HotRoutes, core=core)
    app.add_middleware(BodyLimit, max_body=max_body)
    if token:
        app.add_middleware(BearerToken, token=token)  # added last, so it runs first: no body is read unauthenticated
    return app


def from_environment() -> FastAPI:
    """The app of one `serve --workers N` process, configured by its parent's environment.

    Each worker is a whole serve over the same state file: SQLite's write lock orders the
    workers' call records (so call numbers stay unique), any worker reads a call another
    accepted, and each runs a prober, safely, since a node's probe is claimed atomically
    in the state file (core/health.py)."""
    return create_app(Context(), token=os.environ.get(TOKEN_VAR) or None,
                      max_body=int(os.environ.get(MAX_BODY_VAR) or DEFAULT_MAX_BODY))
