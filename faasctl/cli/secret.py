"""`faasctl secret`: values functions read as files, never shown, never in the state file."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from .output import emit_json, table

app = typer.Typer(help="Set, list and remove secrets that functions read as files "
                       "(/var/run/secrets/faasctl/NAME).", no_args_is_help=True)


def _read_value(name: str, from_file: Path | None) -> bytes:
    """The value: a file's exact bytes, a prompt at a terminal, else all of stdin (one final
    newline dropped, as `echo` adds it)."""
    from ..errors import InvalidInput
    from .environment import current

    if from_file is not None:
        try:
            return from_file.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {from_file}: {exc.strerror or exc}", "give a readable file") from exc
    stdin = current().stdin
    if stdin.isatty():
        import getpass

        text = getpass.getpass(f"value of secret {name} (not echoed): ")
        return text.encode()
    raw = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    return raw[:-1] if raw.endswith(b"\n") else raw


@app.command("set")
def set_(
    name: str = typer.Argument(..., help="Secret name (as a function name: lowercase, digits, '-', '_')."),
    from_file: Path = typer.Option(None, "--from-file", "-f", help="Read the value from FILE, byte for byte."),
    restart: bool = typer.Option(False, "--restart",
                                 help="Also recycle the warm containers of the functions using it now "
                                      "(running calls finish first); without it, containers started from "
                                      "now on read the new value."),
    json_out: bool = typer.Option(False, "--json", help="Print what was done as JSON (never the value)."),
) -> None:
    """Create or change a secret: the value comes from stdin (or --from-file), never from an argument.

    It is stored 0600 in FAASCTL_HOME/secrets and sent, over the agent's authenticated
    channel only, to the nodes running functions that use it. Deploy a function with
    `--secret NAME` to give it the value as /var/run/secrets/faasctl/NAME.
    """
    from ..core import secrets
    from ..core.context import Context

    data = secrets.set_value(Context(), name, _read_value(name, from_file), restart=restart)
    if json_out:
        emit_json(data)
        return
    used = ", ".join(data["functions"]) or "no function yet"
    recycled = sum(n["recycled"] for n in data["nodes"].values())
    print(f"secret {name} set; used by {used}; sent to {len(data['nodes'])} node(s)"
          + (f"; {recycled} warm container(s) recycled" if restart else ""))


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON (names and dates, never values).")) -> None:
    """Secrets by name, when each was last set, and the functions using it."""
    from ..core import secrets
    from ..core.context import Context

    rows = secrets.listing(Context())
    if json_out:
        emit_json(rows)
        return
    table(["name", "set", "used by"],
          [[r["name"], time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["updated_at"])),
            ", ".join(r["functions"]) or "-"] for r in rows],
          empty="no secrets yet; set one with: faasctl secret set NAME < FILE")


@app.command("rm")
def rm(name: str = typer.Argument(..., help="Secret name.")) -> None:
    """Remove a secret here and from every node; refused while a deployed function uses it."""
    from ..core import secrets
    from ..core.context import Context

    data = secrets.remove(Context(), name)
    print(f"secret {name} removed (here and from {len(data['nodes'])} node(s))", file=sys.stdout)
