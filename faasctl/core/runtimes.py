"""Runtimes: the seed's object (image, path, dependencies, run) plus a handler default.

A runtime built from a folder (`--from runtimes/python`) is packed like a function
archive and built by each node's agent, so nodes need no registry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomllib
from sqlmodel import select

from ..errors import Conflict, InvalidInput, NotFound
from ..state.db import transaction
from ..state.models import Function, Runtime
from . import artifacts, nodes
from .context import Context
from .names import check_name

SEED_FIELDS = ("image", "path", "dependencies", "run")


def runtime_dict(rt: Runtime) -> dict[str, Any]:
    return rt.model_dump()


def get(ctx: Context, name: str) -> dict[str, Any]:
    with transaction(ctx.engine) as s:
        rt = s.get(Runtime, name)
        if rt is None:
            raise NotFound(f"no runtime named {name!r}",
                           "see `faasctl runtime list`, or add one: faasctl runtime add python --from runtimes/python")
        return runtime_dict(rt)


def all_runtimes(ctx: Context) -> list[dict[str, Any]]:
    with transaction(ctx.engine) as s:
        return [runtime_dict(r) for r in s.exec(select(Runtime).order_by(Runtime.name))]


def add_from_dir(ctx: Context, name: str, folder: Path, base: str = "",
                 stem_cells: int | None = None) -> dict[str, Any]:
    check_name(name, "runtime")
    definition = folder / "runtime.toml"
    if not (folder / "Dockerfile").is_file() or not definition.is_file():
        raise InvalidInput(f"{folder} needs a runtime.toml and a Dockerfile", "see runtimes/python for the layout")
    try:
        spec = tomllib.loads(definition.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{definition}: {exc}", "fix the TOML syntax") from exc
    art = artifacts.prepare(ctx, folder)
    build = spec.get("build", {})
    rt = Runtime(name=name, image=f"faasctl/rt-{name}:{art.digest[:12]}", path=spec.get("path", "/ws"),
                 dependencies=spec.get("dependencies", ""), run=spec.get("run", ""), handler=spec.get("handler", ""),
                 source_digest=art.digest, base=base or build.get("base", ""),
                 offline_base=build.get("offline_base", ""), stem_cells=_stems(stem_cells))
    return _register(ctx, rt)


def _stems(count: int | None) -> int | None:
    if count is not None and not 0 <= count <= 32:
        raise InvalidInput(f"--stem-cells {count} is outside 0..32")
    return count


# Docker's reference grammar (distribution/reference), checked here so that a bad
# reference is a clear 400 from us rather than a Docker error relayed from every node.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::[0-9]+)?/|[A-Za-z0-9-]+:[0-9]+/)?"
IMAGE_RE = re.compile(rf"{_DOMAIN}{_COMPONENT}(?:/{_COMPONENT})*(?::\w[\w.-]{{0,127}})?(?:@[a-z0-9]+:[0-9a-f]{{32,}})?",
                      re.ASCII)


def valid_image(image: str) -> bool:
    return len(image) <= 255 and IMAGE_RE.fullmatch(image) is not None


def add_image(ctx: Context, name: str, image: str, path: str = "/ws", dependencies: str = "", run: str = "",
              handler: str = "", stem_cells: int | None = None) -> dict[str, Any]:
    check_name(name, "runtime")
    if not valid_image(image):
        raise InvalidInput(f"{image!r} is not an image reference",
                           "give an image like python:3.12-slim or registry.example:5000/team/img:tag (lowercase)")
    if not path.startswith("/"):
        raise InvalidInput(f"path {path!r} must be absolute", "use a folder inside the container such as /ws")
    if not run and not handler:
        raise InvalidInput("a runtime needs a run command or a handler", "add --run 'python3 test.py'")
    return _register(ctx, Runtime(name=name, image=image, path=path, dependencies=dependencies, run=run,
                                  handler=handler, stem_cells=_stems(stem_cells)))


def _register(ctx: Context, rt: Runtime) -> dict[str, Any]:
    targets = nodes.all_nodes(ctx)
    if not targets:
        raise NotFound("there are no nodes to build the runtime on", "add one first: faasctl node add local")
    data = runtime_dict(rt)
    for node in targets:
        ensure_on_node(ctx, data, node)
    with transaction(ctx.engine) as s:
        s.merge(rt)
    return data


def ensure_on_node(ctx: Context, rt: dict[str, Any], node: dict[str, Any]) -> None:
    """Build (or find) the runtime's image on a node; instant when it is there."""
    args: dict[str, Any] = {"name": rt["name"], "image": rt["image"]}
    if rt.get("source_digest"):
        artifacts.push(ctx, node, rt["source_digest"])
        args.update(context_digest=rt["source_digest"], tag=rt["image"], base=rt["base"],
                    offline_base=rt["offline_base"])
    ctx.client(node).request("build_runtime", args, timeout=1800)


def remove(ctx: Context, name: str) -> None:
    with transaction(ctx.engine) as s:
        rt = s.get(Runtime, name)
        if rt is None:
            raise NotFound(f"no runtime named {name!r}", "see `faasctl runtime list`")
        users = [f.name for f in s.exec(select(Function).where(Function.runtime_name == name))]
        if users:
            raise Conflict(f"runtime {name} is used by {', '.join(users)}", "remove those functions first")
        s.delete(rt)
