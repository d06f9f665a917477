"""/v1 routes for versions, rollback and aliases (core/versions.py); invocations of one
version or alias go through `/v1/functions/{name}/invocations?version=N|alias=A`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from ..core import versions
from ..core.names import NAME_MAX
from ..errors import InvalidInput
from .deps import core_of
from .models import AliasIn, AliasOut, RollbackIn, RollbackOut, VersionOut

router = APIRouter(prefix="/v1")
Name = Annotated[str, Path(min_length=1, max_length=NAME_MAX, description="A function name")]
Alias = Annotated[str, Path(min_length=1, max_length=40, description="An alias (`live`: what plain calls get)")]


@router.get("/functions/{name}/versions", response_model=list[VersionOut], tags=["versions"])
async def list_versions(name: Name, request: Request) -> Any:
    """Every version, newest first, with the calls and errors it served and where it is loaded."""
    return await core_of(request)(versions.listing, name)


@router.post("/functions/{name}/rollback", response_model=RollbackOut, tags=["versions"])
async def rollback(name: Name, request: Request, body: RollbackIn | None = None) -> Any:
    """Make an earlier version current (default: the one before). Nodes that could not be
    reached are listed in `failed` and stay out of date until they are synced."""
    return await core_of(request)(versions.rollback, name, body.to if body else None)


@router.get("/functions/{name}/aliases", response_model=list[AliasOut], tags=["versions"])
async def list_aliases(name: Name, request: Request) -> Any:
    return await core_of(request)(versions.aliases, name)


@router.put("/functions/{name}/aliases/{alias}", response_model=AliasOut, tags=["versions"])
async def set_alias(name: Name, alias: Alias, body: AliasIn, request: Request) -> Any:
    """Point an alias at a version, with at most one weighted canary version; atomic."""
    try:
        canary = {int(k): float(v) for k, v in body.weights.items()}
    except ValueError:
        raise InvalidInput("weights are {VERSION: SHARE}", 'send e.g. {"version": 2, "weights": {"3": 0.1}}') from None
    return await core_of(request)(versions.set_alias, name, alias, body.version, canary)


@router.delete("/functions/{name}/aliases/{alias}", status_code=204, response_class=Response, tags=["versions"])
async def delete_alias(name: Name, alias: Alias, request: Request) -> Response:
    """Remove an alias; removing one that does not exist changes nothing."""
    await core_of(request)(versions.remove_alias, name, alias)
    return Response(status_code=204)
