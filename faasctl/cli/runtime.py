"""`faasctl runtime`: the images functions run in (the seed's runtime object)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from .output import emit_json, table

app = typer.Typer(help="Register and list runtimes (images functions run in).", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Runtime name; a built-in name (python, node) needs nothing else."),
    from_dir: Path = typer.Option(None, "--from", help="Folder with runtime.toml and a Dockerfile (your own)."),
    image: str = typer.Option(None, help="Use an existing image instead of building one."),
    path: str = typer.Option("/ws", help="Where function code is mounted in the container."),
    dependencies: str = typer.Option("", help="Command that installs requirements.txt."),
    run: str = typer.Option("", help="Command run per call in command mode (params on stdin)."),
    handler: str = typer.Option("", help="Default MODULE:FUNCTION for handler mode."),
    runner: str = typer.Option("python", help="With --image: the language of its runner, python or node "
                                "(the image needs python3 or node on its PATH)."),
    base: str = typer.Option("", help="Base image for builds (default: the runtime's own)."),
    stem_cells: int = typer.Option(None, help="Stem cells kept per node for functions with --preload runtime."),
    json_out: bool = typer.Option(False, "--json", help="Print the runtime as JSON."),
) -> None:
    """Build a runtime image on every node (built-in, or --from DIR) or register an existing image (--image).

    A node that can neither pull nor build the image gets it carried from an engine
    that has it (docker save, streamed over SSH into docker load). Each node's outcome
    is reported: present, pulled, built or carried.
    """
    from ..core import runtimes
    from ..core.context import Context
    from ..errors import InvalidInput
    from .progress import line

    ctx = Context()
    if from_dir is not None and image is None:
        print(f"  building runtime {name} from {from_dir} on every node...", file=sys.stderr, flush=True)
        rt = runtimes.add_from_dir(ctx, name, from_dir, base=base, stem_cells=stem_cells, progress=line)
    elif image is not None and from_dir is None:
        rt = runtimes.add_image(ctx, name, image, path, dependencies, run, handler, stem_cells, progress=line,
                                runner=runner)
    elif image is None and from_dir is None:
        print(f"  building built-in runtime {name} on every node...", file=sys.stderr, flush=True)
        rt = runtimes.add_builtin(ctx, name, base=base, stem_cells=stem_cells, progress=line)
    else:
        raise InvalidInput("give at most one of --from DIR or --image IMAGE",
                           "e.g. faasctl runtime add python (built-in) or --from ./my-runtime")
    if json_out:
        emit_json(rt)
        return
    print(f"runtime {rt['name']} ready: image {rt['image']}")
    for node, outcome in rt.get("nodes", {}).items():
        print(f"  {node}: {describe(outcome)}")


def describe(outcome: dict[str, Any]) -> str:
    how = str(outcome.get("how", ""))
    if how == "present":
        return "present, nothing to do"
    if how == "carried":
        return f"carried from {outcome.get('from')} ({int(outcome.get('bytes', 0)) / (1 << 20):.0f} MiB)"
    return how


@app.command("list")
def list_(
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    available: bool = typer.Option(False, "--available", help="The built-in runtimes shipped with faasctl."),
) -> None:
    """Registered runtimes, or with --available the built-ins `runtime add NAME` can use."""
    from ..core import listing as runtimes  # plain sqlite3: no ORM import for a listing
    from ..core.context import Context

    if available:
        from ..core import runtime_builtin

        registered = {r["name"] for r in runtimes.all_runtimes(Context())}
        shipped = [{**runtime_builtin.describe(n), "added": n in registered} for n in runtime_builtin.names()]
        if json_out:
            emit_json(shipped)
            return
        table(["name", "added", "base", "run", "description"],
              [[b["name"], "yes" if b["added"] else "no", b["base"], b["run"], b["description"]] for b in shipped],
              empty="this faasctl ships no built-in runtimes")
        return
    rows = runtimes.all_runtimes(Context())
    if json_out:
        emit_json(rows)
        return
    table(["name", "runner", "image", "path", "run", "handler"],
          [[r["name"], r["runner"], r["image"], r["path"], r["run"], r["handler"]] for r in rows],
          empty="no runtimes yet; add the built-in one with: faasctl runtime add python")


@app.command("rm")
def rm(name: str) -> None:
    """Forget a runtime no function uses (its image stays on the nodes)."""
    from ..core import runtimes
    from ..core.context import Context

    runtimes.remove(Context(), name)
    print(f"runtime {name} removed")
