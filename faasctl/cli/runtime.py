"""`faasctl runtime`: the images functions run in (the seed's runtime object)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .output import emit_json, table

app = typer.Typer(help="Register and list runtimes (images functions run in).", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Runtime name, e.g. python."),
    from_dir: Path = typer.Option(None, "--from", help="Folder with runtime.toml and a Dockerfile to build."),
    image: str = typer.Option(None, help="Use an existing image instead of building one."),
    path: str = typer.Option("/ws", help="Where function code is mounted in the container."),
    dependencies: str = typer.Option("", help="Command that installs requirements.txt."),
    run: str = typer.Option("", help="Command run per call in command mode (params on stdin)."),
    handler: str = typer.Option("", help="Default MODULE:FUNCTION for handler mode."),
    base: str = typer.Option("", help="Base image for --from builds (default: the runtime's own)."),
    stem_cells: int = typer.Option(None, help="Stem cells kept per node for functions with --preload runtime."),
    json_out: bool = typer.Option(False, "--json", help="Print the runtime as JSON."),
) -> None:
    """Build a runtime image on every node (--from) or register an existing image (--image)."""
    from ..core import runtimes
    from ..core.context import Context
    from ..errors import InvalidInput

    ctx = Context()
    if from_dir is not None and image is None:
        print(f"  building runtime {name} from {from_dir} on every node...", file=sys.stderr, flush=True)
        rt = runtimes.add_from_dir(ctx, name, from_dir, base=base, stem_cells=stem_cells)
    elif image is not None and from_dir is None:
        rt = runtimes.add_image(ctx, name, image, path, dependencies, run, handler, stem_cells)
    else:
        raise InvalidInput("give exactly one of --from DIR or --image IMAGE",
                           "e.g. faasctl runtime add python --from runtimes/python")
    if json_out:
        emit_json(rt)
    else:
        print(f"runtime {rt['name']} ready: image {rt['image']}")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Registered runtimes."""
    from ..core import runtimes
    from ..core.context import Context

    rows = runtimes.all_runtimes(Context())
    if json_out:
        emit_json(rows)
        return
    table(["name", "image", "path", "run", "handler"],
          [[r["name"], r["image"], r["path"], r["run"], r["handler"]] for r in rows],
          empty="no runtimes yet; add one with: faasctl runtime add python --from runtimes/python")


@app.command("rm")
def rm(name: str) -> None:
    """Forget a runtime no function uses (its image stays on the nodes)."""
    from ..core import runtimes
    from ..core.context import Context

    runtimes.remove(Context(), name)
    print(f"runtime {name} removed")
