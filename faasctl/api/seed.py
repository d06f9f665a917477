"""The seed platform's routes, answering its scripts unchanged.

Paths, methods, field names and response shapes are the seed's (digest.md). Where the
seed only said "HTTP status" (the three POSTs) we answer 200 with a small JSON body:
200 because a seed script may test for exactly that.

Runtime names: the seed named a runtime by its image (`pythonruntime`). Our names must
match `^[a-z0-9][a-z0-9_-]{0,62}$`, so an image that already is a valid name keeps it,
and any other image is given a derived name: lowercased, every run of other characters
turned into `-` (`faasctl/rt-python:abc` -> `faasctl-rt-python-abc`). The answer to
registerRuntime carries that `name`; registerFunction's `:runtime` accepts the name or
the image itself. Two images that derive the same name are refused (409), never merged.
"""

from __future__ import annotations

import re
from typing import Any

from faasctl_agent.names import valid_name
from fastapi import APIRouter, File, Path, Request, UploadFile

from ..core import calls, functions, invoke, listing, runtimes
from ..core.context import Context
from ..errors import Conflict, InvalidInput, NotFound
from .deps import LIST_REFRESH, core_of, one_call
from .models import SeedCall, SeedFunctionAck, SeedInvocation, SeedRuntime, SeedRuntimeAck

router = APIRouter(tags=["seed-compatible"])
SEED_CALL_FIELDS = ("funcName", "params", "callNum", "status", "result")
MAX_CALL_NUM = 2**63 - 1


def runtime_name_for(image: str) -> str:
    if valid_name(image):
        return image
    name = re.sub(r"[^a-z0-9_-]+", "-", image.lower()).strip("-_")[:63].rstrip("-_")
    if not valid_name(name):
        raise InvalidInput(f"no runtime name can be made from image {image!r}",
                           "use an image reference with letters or digits, or POST /v1/runtimes with a name")
    return name


def seed_call(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in SEED_CALL_FIELDS}


def _register_runtime(ctx: Context, body: SeedRuntime) -> dict[str, Any]:
    name = runtime_name_for(body.image)
    try:
        existing = runtimes.get(ctx, name)
    except NotFound:
        existing = None
    if existing is not None and (existing["image"] != body.image or existing.get("source_digest")):
        raise Conflict(f"runtime {name} exists with image {existing['image']}",
                       "register another image, or remove that runtime first (DELETE /v1/runtimes/NAME)")
    return runtimes.add_image(ctx, name, body.image, body.path, body.dependencies, body.run)


@router.post("/registerRuntime", response_model=SeedRuntimeAck)
async def register_runtime(body: SeedRuntime, request: Request) -> dict[str, Any]:
    """Register the seed's runtime object; its image must be on (or pullable by) every node."""
    return await core_of(request)(_register_runtime, body)


@router.post("/registerFunction/{runtime:path}/{funcName}", response_model=SeedFunctionAck)
async def register_function(runtime: str, funcName: str, request: Request,
                            module: UploadFile = File(..., description="zip or tar.gz of the function")) -> Any:
    """Deploy a function from the multipart field `module` (zip or tar.gz) to every node."""
    data = await module.read()
    fn = await core_of(request)(functions.deploy, funcName, data, runtime_name_for(runtime),
                                filename=module.filename or "")
    return SeedFunctionAck(functionName=fn["functionName"], runtimeName=fn["runtimeName"],
                           filename=module.filename or "", size=len(data), version=fn["version"],
                           changed=fn["changed"])


@router.post("/invokeFunction", response_model=SeedCall)
async def invoke_function(body: SeedInvocation, request: Request) -> dict[str, Any]:
    """Accept a call and answer at once (the call is PENDING); follow it with GET /call/{callNum}."""
    record = await core_of(request)(invoke.invoke, body.funcName, body.params, is_async=True)
    return seed_call(record)


@router.get("/runtimes", response_model=list[str])
async def list_runtimes(request: Request) -> list[str]:
    return core_of(request).read(listing.names, "runtime")  # the state alone: on the event loop (core/runner.py)


@router.get("/functions", response_model=list[str])
async def list_functions(request: Request) -> list[str]:
    """Names only: the counts and percentiles /v1/functions computes are not read here."""
    return core_of(request).read(listing.names, "function")


@router.get("/calls", response_model=dict[str, SeedCall])
async def list_calls(request: Request) -> dict[str, Any]:
    """Every call, keyed `c<callNum>`, oldest first."""
    rows = await core_of(request)(calls.list_calls, limit=None, refresh=LIST_REFRESH)
    return {f"c{row['callNum']}": seed_call(row) for row in reversed(rows)}


@router.get("/call/{callNum}", response_model=SeedCall)
async def get_call(request: Request, callNum: int = Path(ge=1, le=MAX_CALL_NUM)) -> dict[str, Any]:
    return seed_call(await one_call(core_of(request), callNum))
