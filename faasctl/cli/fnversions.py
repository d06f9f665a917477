"""`faasctl fn versions | rollback | alias`: the fn sub-app's version commands (core/versions.py)."""

from __future__ import annotations

import time
from typing import Any, List

import typer

from .environment import current
from .output import emit_json, table


def register(app: typer.Typer) -> None:
    app.command("versions")(versions)
    app.command("rollback")(rollback)
    app.command("alias")(alias)


def versions(name: str = typer.Argument(..., help="Function name."),
             json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every version, newest first: digest, date, runtime, kind, policy, env names, the
    calls and errors it served, its aliases and the nodes that hold it loaded."""
    from ..core import versions as core
    from ..core.context import Context

    rows = core.listing(Context(), name)
    if json_out:
        emit_json(rows)
        return
    table(["", "ver", "digest", "created", "runtime", "kind", "policy", "env", "calls", "errors", "aliases", "nodes"],
          [["*" if r["current"] else "", r["version"], r["digest"][:12], _when(r["created_at"]), r["runtime"],
            r["kind"], ",".join(f"{k}={v}" for k, v in r["policy"].items()) or "-", ",".join(r["env"]) or "-",
            r["calls"], r["errors"], ",".join(r["aliases"]) or "-", ",".join(r["nodes"]) or "-"] for r in rows],
          empty=f"{name} has no versions")


def rollback(name: str = typer.Argument(..., help="Function name."),
             to: int | None = typer.Option(None, "--to", min=1, help="The version to go back to "
                                              "(default: the one before the current)."),
             json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Make an earlier version current on every node that holds the function.

    Instant where the nodes still hold that version (the last --keep-versions are kept):
    no push, no install, and its warm containers serve at once if still up. Calls running
    on the version left behind finish; `live`, if set, moves too. A node that cannot be
    reached stays on its version (see `faasctl node list`) until `faasctl node sync`."""
    from ..core import versions as core
    from ..core.context import Context
    from ..errors import NodesFailed

    data = core.rollback(Context(), name, to)
    if json_out:
        emit_json(data)
    elif not data["changed"]:
        print(f"{name} is at version {data['version']} already")
    else:
        reused = [n for n, r in data["nodes"].items() if r["reused"]]
        print(f"{name} rolled back from version {data['from']} to {data['version']} on "
              f"{', '.join(data['nodes']) or 'no node'}" + (f" (warm containers reused on {', '.join(reused)})"
                                                             if reused else ""))
        _freed(data.get("gc", {}))
    if data["failed"]:
        raise NodesFailed(f"{', '.join(data['failed'])} did not take version {data['version']} and stay out of "
                          "date: " + "; ".join(f"{n}: {e}" for n, e in data["failed"].items()),
                          "when they answer again, run `faasctl node sync` (see `faasctl node list`)")


def alias(name: str = typer.Argument(..., help="Function name."),
          alias_name: str = typer.Argument(..., metavar="ALIAS", help="The alias: `live` is what a plain "
                                           "`invoke NAME` follows; others are called as NAME@ALIAS."),
          version: int | None = typer.Option(None, "--version", "-v", min=1, help="The version it names."),
          weight: List[str] | None = typer.Option(None, "--weight", "-w", help="VERSION=SHARE: send this share "
                                                     "of the alias's calls (0 to 1, drawn per call) to another "
                                                     "version, for a canary. Example: --weight 3=0.1."),
          remove: bool = typer.Option(False, "--rm", help="Remove the alias instead."),
          json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Point an alias at a version, with an optional weighted canary; the move is atomic."""
    from ..core import versions as core
    from ..core.context import Context
    from ..errors import InvalidInput

    if remove == (version is not None):
        raise InvalidInput("give --version N to set the alias, or --rm to remove it",
                           f"e.g. faasctl fn alias {name} {alias_name} --version 2 --weight 3=0.1")
    if remove:
        gone = core.remove_alias(Context(), name, alias_name)
        print(f"alias {alias_name} of {name} " + ("removed" if gone else "did not exist"))
        return
    data = core.set_alias(Context(), name, alias_name, int(version or 0), _weights(weight or []))
    if json_out:
        emit_json(data)
        return
    canary = (f", {data['canary_weight']:g} of calls to version {data['canary_version']}"
              if data["canary_version"] else "")
    print(f"alias {alias_name} of {name} -> version {data['version']}{canary}")
    _freed(data.get("gc", {}))


def _weights(items: list[str]) -> dict[int, float]:
    from ..errors import InvalidInput

    out: dict[int, float] = {}
    for item in items:
        left, sep, right = item.partition("=")
        try:
            out[int(left)] = float(right)
        except ValueError:
            raise InvalidInput(f"--weight {item!r} is not VERSION=SHARE", "write it like --weight 3=0.1") from None
        if not sep:
            raise InvalidInput(f"--weight {item!r} is not VERSION=SHARE", "write it like --weight 3=0.1")
    return out


def _freed(report: dict[str, Any]) -> None:
    """One line per node whose old versions were collected, on stderr."""
    for node, r in report.items():
        if r.get("error"):
            print(f"  {node}: old versions not collected now: {r['error']}", file=current().stderr)
        elif r.get("dropped"):
            print(f"  {node}: dropped versions {', '.join(map(str, r['dropped']))}, freed "
                  f"{r['freed_bytes'] / 1e6:.1f} MB", file=current().stderr)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))
