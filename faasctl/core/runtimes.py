"""Runtimes: the seed's object (image, path, dependencies, run) plus a handler default.

A runtime's folder (a built-in from package data, or `--from DIR`) is packed like a
function archive and built by each node's agent, so nodes need no registry. A node
that can neither pull nor build the image gets it carried from an engine that has it
(images.py). Each node's outcome is reported: present, pulled, built or carried.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faasctl_agent import archive
from faasctl_agent.languages import LANGUAGES
from sqlmodel import select

from ..errors import Conflict, InvalidInput, NotFound
from ..state.db import get_or_raise, transaction
from ..state.models import Function, Runtime
from . import artifacts, images, listing, nodes, runtime_builtin
from .context import Context
from .names import check_name
from .policy import check as check_policy

NodeProgress = Callable[[str, str], None]  # (node name, text)


def runtime_dict(rt: Runtime) -> dict[str, Any]:
    return rt.model_dump()


def get(ctx: Context, name: str) -> dict[str, Any]:
    with transaction(ctx.engine) as s:
        return runtime_dict(get_or_raise(s, Runtime, name, _missing(name)))


def _missing(name: str) -> NotFound:
    return NotFound(f"no runtime named {name!r}",
                    "see `faasctl runtime list`, or add a built-in one: faasctl runtime add python")


all_runtimes = listing.all_runtimes  # plain sqlite3 (listing.py)


def add_from_dir(ctx: Context, name: str, folder: Path, base: str = "", stem_cells: int | None = None,
                 progress: NodeProgress | None = None) -> dict[str, Any]:
    check_name(name, "runtime")
    definition = folder / runtime_builtin.DEFINITION
    if not (folder / "Dockerfile").is_file() or not definition.is_file():
        raise InvalidInput(f"{folder} needs a runtime.toml and a Dockerfile",
                           "see the built-in one: faasctl runtime list --available")
    spec = runtime_builtin.parse_definition(definition.read_bytes(), str(definition))
    return _add_built(ctx, name, spec, artifacts.prepare(ctx, folder), base, stem_cells, progress)


def add_builtin(ctx: Context, name: str, base: str = "", stem_cells: int | None = None,
                progress: NodeProgress | None = None) -> dict[str, Any]:
    """`runtime add python`: the built-in of that name, packed from package data."""
    check_name(name, "runtime")
    files = runtime_builtin.files(name)
    spec = runtime_builtin.parse_definition(files[runtime_builtin.DEFINITION], f"built-in runtime {name}")
    return _add_built(ctx, name, spec, artifacts.prepare(ctx, runtime_builtin.packed(name)), base, stem_cells,
                      progress)


def _add_built(ctx: Context, name: str, spec: dict[str, Any], art: artifacts.Artifact, base: str,
               stem_cells: int | None, progress: NodeProgress | None) -> dict[str, Any]:
    build = spec.get("build", {})
    tag = art.digest[:12]
    if base and base != build.get("base", ""):  # another base is another image: it must not pass as present
        tag += "-" + archive.sha256(base.encode())[:8]
    rt = Runtime(name=name, image=f"faasctl/rt-{name}:{tag}", path=spec.get("path", "/ws"),
                 dependencies=spec.get("dependencies", ""), run=spec.get("run", ""), handler=spec.get("handler", ""),
                 runner=check_runner(str(spec.get("runner", "python"))), source_digest=art.digest,
                 base=base or build.get("base", ""), offline_base=build.get("offline_base", ""),
                 stem_cells=_stems(stem_cells))
    return _register(ctx, rt, progress)


def check_runner(runner: str) -> str:
    """The runner a runtime names (runtime.toml `runner`, `--runner`), one the agent ships."""
    if runner not in LANGUAGES:
        raise InvalidInput(f"runner {runner!r} is not one faasctl has",
                           f"use one of: {', '.join(sorted(LANGUAGES))} (the language of the runtime's image)")
    return runner


def _stems(count: int | None) -> int | None:
    stems: int | None = check_policy({"stem_cells": count}).get("stem_cells")  # bounds from the policy model
    return stems


# Docker's reference grammar (distribution/reference), checked here so that a bad
# reference is a clear 400 from us rather than a Docker error relayed from every node.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::[0-9]+)?/|[A-Za-z0-9-]+:[0-9]+/)?"
IMAGE_RE = re.compile(rf"{_DOMAIN}{_COMPONENT}(?:/{_COMPONENT})*(?::\w[\w.-]{{0,127}})?(?:@[a-z0-9]+:[0-9a-f]{{32,}})?",
                      re.ASCII)


def valid_image(image: str) -> bool:
    return len(image) <= 255 and IMAGE_RE.fullmatch(image) is not None


def add_image(ctx: Context, name: str, image: str, path: str = "/ws", dependencies: str = "", run: str = "",
              handler: str = "", stem_cells: int | None = None, progress: NodeProgress | None = None,
              runner: str = "python") -> dict[str, Any]:
    check_name(name, "runtime")
    if not valid_image(image):
        raise InvalidInput(f"{image!r} is not an image reference",
                           "give an image like python:3.12-slim or registry.example:5000/team/img:tag (lowercase)")
    if not path.startswith("/"):
        raise InvalidInput(f"path {path!r} must be absolute", "use a folder inside the container such as /ws")
    if not run and not handler:
        raise InvalidInput("a runtime needs a run command or a handler", "add --run 'python3 test.py'")
    return _register(ctx, Runtime(name=name, image=image, path=path, dependencies=dependencies, run=run,
                                  handler=handler, runner=check_runner(runner), stem_cells=_stems(stem_cells)),
                     progress)


def _register(ctx: Context, rt: Runtime, progress: NodeProgress | None = None) -> dict[str, Any]:
    """Get the image onto every node: built (or pulled) where it can be, then carried to the rest."""
    targets = nodes.all_nodes(ctx)
    if not targets:
        raise NotFound("there are no nodes to build the runtime on", "add one first: faasctl node add local")
    say: NodeProgress = progress or (lambda _node, _text: None)
    data = runtime_dict(rt)
    report: dict[str, dict[str, Any]] = {}
    for node in targets:
        say(node["name"], "finding or pulling the image" if not rt.source_digest else "finding or building the image")
        report[node["name"]] = _build(ctx, data, node)
    holders = [n for n in targets if report[n["name"]]["how"] != "missing"]
    holders.sort(key=lambda n: n["kind"] != "local")  # read from this machine's engine first
    for node in targets:
        outcome = report[node["name"]]
        if outcome["how"] == "missing":
            name = str(node["name"])
            report[name] = images.carry(ctx, rt.image, node, holders, outcome.get("why", ""),
                                        lambda text: say(name, text))  # noqa: B023 (called within this turn)
            holders.append(node)
    with transaction(ctx.engine) as s:
        s.merge(rt)
    data["nodes"] = report
    return data


def ensure_on_node(ctx: Context, rt: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Build (or find) the runtime's image on a node, carried from another if it cannot."""
    outcome = _build(ctx, rt, node)
    if outcome["how"] != "missing":
        return outcome
    others = sorted((n for n in nodes.all_nodes(ctx) if n["name"] != node["name"]), key=lambda n: n["kind"] != "local")
    return images.carry(ctx, rt["image"], node, others, outcome.get("why", ""))


def _build(ctx: Context, rt: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The agent's outcome: present, pulled, built, or missing (it cannot: carry it)."""
    args: dict[str, Any] = {"name": rt["name"], "image": rt["image"], "carry_ok": True}
    if rt.get("source_digest"):
        artifacts.push(ctx, node, rt["source_digest"])
        args.update(context_digest=rt["source_digest"], tag=rt["image"], base=rt["base"],
                    offline_base=rt["offline_base"])
    reply = ctx.client(node).request("build_runtime", args, timeout=1800)
    return {"how": "ready", **{k: v for k, v in reply.items() if k in ("how", "why")}}  # older agents: no "how"


def remove(ctx: Context, name: str) -> None:
    with transaction(ctx.engine) as s:
        rt = get_or_raise(s, Runtime, name, _missing(name))
        users = [f.name for f in s.exec(select(Function).where(Function.runtime_name == name))]
        if users:
            raise Conflict(f"runtime {name} is used by {', '.join(users)}", "remove those functions first")
        s.delete(rt)
