"""`faasctl operator`: who may drive the nodes, each operator with their own CURVE key."""

from __future__ import annotations

import sys
import time

import typer

from .output import emit_json, table

app = typer.Typer(help="Authorise operators on every node: each keeps their own CURVE key pair "
                       "(FAASCTL_HOME/keys) and sends only the public half (`faasctl operator key`).",
                  no_args_is_help=True)


def _nodes(report: dict[str, str]) -> str:
    return ", ".join(f"{n}: {r}" for n, r in report.items()) or "no nodes yet"


@app.command("add")
def add(
    name: str = typer.Argument(..., help="The operator's name (lowercase, digits, '-', '_')."),
    public_key: str = typer.Option(..., "--public-key", "-k",
                                   help="Their public key: the 40 characters `faasctl operator key` printed for them. "
                                        "Write --public-key=KEY if it starts with '-'."),
    json_out: bool = typer.Option(False, "--json", help="Print the outcome per node as JSON."),
) -> None:
    """Authorise an operator's key on every node, at once. Adding the same name and key again
    pushes the set again; a node that is down gets it from `faasctl node sync`."""
    from ..core import operators
    from ..core.context import Context

    data = operators.add(Context(), name, public_key)
    if json_out:
        emit_json(data)
        return
    print(f"operator {name} {'added' if data['changed'] else 'already authorised'}; nodes: {_nodes(data['nodes'])}")


@app.command("rm")
def rm(
    name: str = typer.Argument(..., help="The operator to remove."),
    json_out: bool = typer.Option(False, "--json", help="Print the outcome per node as JSON."),
) -> None:
    """Remove an operator's key from every node: their next request is refused, even on a
    connection already open. Your own key cannot be removed (ask another operator)."""
    from ..core import operators
    from ..core.context import Context

    data = operators.remove(Context(), name)
    if json_out:
        emit_json(data)
        return
    print(f"operator {name} removed; nodes: {_nodes(data['nodes'])}")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Operators, their key's start, when added, and on how many nodes the key is confirmed."""
    from ..core import operators
    from ..core.context import Context

    data = operators.listing(Context())
    if json_out:
        emit_json(data)
        return
    total = data["node_count"]
    table(["name", "key", "added", "nodes"],
          [[r["name"] + (" (you)" if r["you"] else ""), r["public_key"][:12] + "…",
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r["added_at"])), f"{r['nodes']}/{total}"]
           for r in data["operators"]])
    if data["out_of_step"]:
        print(f"not in step (down during a change, or never sent the set): {', '.join(data['out_of_step'])}; "
              "run: faasctl node sync", file=sys.stderr)


@app.command("key")
def key(json_out: bool = typer.Option(False, "--json", help="Print name and key as JSON.")) -> None:
    """Print your own public key (and name), to send to an operator who runs `operator add`.
    The secret half never leaves FAASCTL_HOME/keys."""
    from ..core import operators
    from ..core.context import Context

    me = operators.own(Context())
    if json_out:
        emit_json(me)
        return
    print(me["public_key"])
    print(f"ask an operator to run: faasctl operator add {me['name']} --public-key '{me['public_key']}'",
          file=sys.stderr)
