"""/v1: the resource-oriented API (nodes, runtimes, functions, invocations, calls).

Each route is one core call; the models in `models` are the contract /openapi.json
publishes. Deploy is `PUT /v1/functions/{name}` because it is create-or-update and
idempotent: the same archive again changes nothing (`changed: false`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from faasctl_agent.kinds import KINDS
from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile

from ..core import calls, functions, invoke, nodes, nodestatus, runtimes
from ..core.context import Context
from ..core.names import NAME_MAX
from ..core.policy import Spec, with_options
from ..errors import Conflict, InvalidInput, NotFound
from .deps import CALLS_FUNCTION_MAX, CALLS_LIMIT, core_of, one_call, page_of_calls
from .models import (
    CallOut,
    CallStatus,
    FunctionOut,
    InvocationIn,
    LogsOut,
    NodeOut,
    PolicyIn,
    RuntimeIn,
    RuntimeOut,
    policy_field,
)

router = APIRouter(prefix="/v1")
Name = Annotated[str, Path(min_length=1, max_length=NAME_MAX, description="A runtime or function name")]
NodeName = Annotated[str, Path(min_length=1, max_length=NAME_MAX, description="A node name")]
CallNum = Annotated[int, Path(ge=1, le=2**63 - 1)]


# -- nodes ---------------------------------------------------------------------------


@router.get("/nodes", response_model=list[NodeOut], tags=["nodes"])
async def list_nodes(request: Request) -> Any:
    """Every node with its live status (an unreachable node is listed with `up: false`)."""
    return await core_of(request)(nodestatus.with_status)


@router.post("/nodes/{name}/drain", status_code=204, response_class=Response, tags=["nodes"])
async def drain_node(name: NodeName, request: Request) -> Response:
    """Give the node no new calls (its running calls finish); draining it again changes nothing."""
    await core_of(request)(nodestatus.set_drained, name, True)
    return Response(status_code=204)


@router.delete("/nodes/{name}/drain", status_code=204, response_class=Response, tags=["nodes"])
async def undrain_node(name: NodeName, request: Request) -> Response:
    """Put a drained node back in service (a node in service stays as it is)."""
    await core_of(request)(nodestatus.set_drained, name, False)
    return Response(status_code=204)


@router.delete("/nodes/{name}", status_code=204, response_class=Response, tags=["nodes"])
async def delete_node(name: NodeName, request: Request) -> Response:
    """Stop the node's agent, remove its containers and volumes, forget it (`faasctl node rm`).

    A node that cannot be reached is not forgotten (503); `faasctl node rm NAME --force` does that."""
    await core_of(request)(nodes.remove, name)
    return Response(status_code=204)


# -- runtimes ------------------------------------------------------------------------


def _create_runtime(ctx: Context, body: RuntimeIn) -> dict[str, Any]:
    try:
        runtimes.get(ctx, body.name)
    except NotFound:
        return runtimes.add_image(ctx, body.name, body.image, body.path, body.dependencies, body.run, body.handler)
    raise Conflict(f"runtime {body.name} exists", f"remove it first: DELETE /v1/runtimes/{body.name}")


@router.get("/runtimes", response_model=list[RuntimeOut], tags=["runtimes"])
async def list_runtimes(request: Request) -> Any:
    return core_of(request).read(runtimes.all_runtimes)  # the state alone: on the event loop (core/runner.py)


@router.post("/runtimes", response_model=RuntimeOut, status_code=201, tags=["runtimes"])
async def create_runtime(body: RuntimeIn, request: Request) -> Any:
    """Register an existing image as a runtime; each node checks it has the image (or pulls it)."""
    return await core_of(request)(_create_runtime, body)


@router.get("/runtimes/{name}", response_model=RuntimeOut, tags=["runtimes"])
async def get_runtime(name: Name, request: Request) -> Any:
    return await core_of(request)(runtimes.get, name)


@router.delete("/runtimes/{name}", status_code=204, response_class=Response, tags=["runtimes"])
async def delete_runtime(name: Name, request: Request) -> Response:
    """Forget a runtime no function uses (409 otherwise)."""
    await core_of(request)(runtimes.remove, name)
    return Response(status_code=204)


# -- functions -----------------------------------------------------------------------


@router.get("/functions", response_model=list[FunctionOut], tags=["functions"])
async def list_functions(
    request: Request,
    live: Annotated[bool, Query(description="Also ask each node for its warm containers now")] = False,
) -> Any:
    """Functions with their policy, nodes, call counts and latency percentiles."""
    return await core_of(request)(functions.all_functions, live)


@router.get("/functions/{name}", response_model=FunctionOut, tags=["functions"])
async def get_function(name: Name, request: Request) -> Any:
    return await core_of(request)(functions.get, name)


def _form_field(spec: Spec) -> tuple[Any, Any]:
    """A policy field as an optional multipart form field, typed and described by the model."""
    kind, field = policy_field(spec)
    return Annotated[kind, Form(description=field.description)], None


@router.put("/functions/{name}", response_model=FunctionOut, tags=["functions"])
@with_options(_form_field)
async def deploy_function(
    name: Name,
    request: Request,
    runtime: Annotated[str, Form(min_length=1, max_length=NAME_MAX)],
    archive: Annotated[UploadFile, File(description="zip or tar.gz with the code (and requirements.txt)")],
    handler: Annotated[str, Form(max_length=255, description="The entry point (MODULE:FUNCTION for native)")] = "",
    kind: Annotated[Literal[KINDS] | None, Form(  # type: ignore[valid-type]
        description="Calling contract (docs/functions.md); none: native with a handler, else command")] = None,
    policy: dict[str, Any] | None = None,
) -> Any:
    """Deploy (or redeploy) a function to its nodes; unchanged code moves nothing."""
    data = await archive.read()
    fn = await core_of(request)(functions.deploy, name, data, runtime, handler=handler,
                                filename=archive.filename or "", policy=policy, kind=kind or "")
    return {**fn, "nodes": sorted(fn["nodes"])}


@router.patch("/functions/{name}/policy", response_model=FunctionOut, tags=["functions"])
async def set_policy(name: Name, body: PolicyIn, request: Request) -> Any:
    """Change preload, limits or placement without uploading the code again."""
    policy = body.model_dump()
    fn = await core_of(request)(functions.set_policy, name, policy)
    return {**fn, "nodes": sorted(fn["nodes"])}


@router.delete("/functions/{name}", status_code=204, response_class=Response, tags=["functions"])
async def delete_function(name: Name, request: Request) -> Response:
    """Remove a function from every node and from the state; its calls are kept."""
    await core_of(request)(functions.remove, name)
    return Response(status_code=204)


@router.post("/functions/{name}/invocations", response_model=CallOut, tags=["invocations"],
             responses={202: {"model": CallOut, "description": "Accepted (async): the call is PENDING"}})
async def invoke_function(
    name: Name,
    request: Request,
    response: Response,
    body: InvocationIn | None = None,
    is_async: Annotated[bool, Query(alias="async", description="Answer 202 at once; poll /v1/calls/{n}")] = False,
    version: Annotated[int | None, Query(ge=1, le=2**31, description="Call this version")] = None,
    alias: Annotated[str | None, Query(min_length=1, max_length=40, description="Call the version this alias "
                                       "names (without either: `live` if set, else the current version)")] = None,
) -> Any:
    """Call a function: sync answers with the finished call (status DONE, ERROR or TIMEOUT)."""
    body = body or InvocationIn.model_validate({})
    if version is not None and alias is not None:
        raise InvalidInput("give version or alias, not both", "drop one of the two query parameters")
    ref = f"{name}@{version}" if version is not None else f"{name}@{alias}" if alias is not None else name
    record = await core_of(request)(invoke.invoke, ref, body.params, is_async=is_async, node=body.node)
    if is_async:
        response.status_code = 202
    return record


# -- calls ---------------------------------------------------------------------------


@router.get("/calls", response_model=list[CallOut], tags=["calls"])
async def list_calls(
    request: Request,
    function: Annotated[str, Query(max_length=CALLS_FUNCTION_MAX)] = "",
    status: Annotated[CallStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=CALLS_LIMIT[1])] = CALLS_LIMIT[0],
) -> Any:
    """Recent calls, newest first; unfinished ones are brought up to date first."""
    return await page_of_calls(core_of(request), function, status or "", limit)


@router.get("/calls/{call_num}", response_model=CallOut, tags=["calls"])
async def get_call(call_num: CallNum, request: Request) -> Any:
    """One call, refreshed from its node while unfinished."""
    return await one_call(core_of(request), call_num)


@router.get("/calls/{call_num}/logs", response_model=LogsOut, tags=["calls"])
async def call_logs(call_num: CallNum, request: Request) -> Any:
    """What the function wrote to stderr (and stdout in handler mode) during the call."""
    return {"callNum": call_num, "log": await core_of(request)(calls.logs, call_num)}
