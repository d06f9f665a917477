"""`faasctl call`: the durable records of invocations."""

from __future__ import annotations

import typer

from .output import emit_json, ms, table

app = typer.Typer(help="List, get and wait for calls.", no_args_is_help=True)


def show(record: dict[str, object]) -> None:
    for key in ("callNum", "funcName", "status", "node", "startKind", "params", "result", "error"):
        value = record.get(key)
        if value not in (None, ""):
            if key == "params":  # JSON, as the user gave it (a dict would print in Python's syntax)
                import json

                value = json.dumps(value, ensure_ascii=False)
            print(f"{key:>10}: {value}")
    print(f"{'timings':>10}: queue {ms(record.get('queueMs'))} ms, start {ms(record.get('startMs'))} ms, "  # type: ignore[arg-type]
          f"run {ms(record.get('runMs'))} ms")  # type: ignore[arg-type]


@app.command("list")
def list_(
    function: str = typer.Option("", "--function", "-f", help="Only calls of this function."),
    status: str = typer.Option("", "--status", "-s", help="Only calls with this status."),
    limit: int = typer.Option(50, help="How many, newest first."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recent calls, newest first (unfinished ones are first brought up to date from their nodes)."""
    from ..core import calls
    from ..core.context import Context

    rows = calls.list_calls(Context(), function, status, limit, refresh=20)
    if json_out:
        emit_json(rows)
        return
    table(["call", "function", "status", "node", "start", "run ms", "result"],
          [[r["callNum"], r["funcName"], r["status"], r["node"], r["startKind"], ms(r["runMs"]),
            str(r["result"])[:40]] for r in rows], empty="no calls yet")


@app.command("get")
def get(number: int, json_out: bool = typer.Option(False, "--json", help="Print the whole record as JSON.")) -> None:
    """One call (refreshed from its node while unfinished)."""
    from ..core import calls
    from ..core.context import Context

    record = calls.get(Context(), number)
    emit_json(record) if json_out else show(record)


@app.command("wait")
def wait(
    number: int,
    timeout: float = typer.Option(60.0, help="Seconds to wait at most."),
    json_out: bool = typer.Option(False, "--json", help="Print the whole record as JSON."),
) -> None:
    """Wait until a call is finished, then print it."""
    from ..core import calls
    from ..core.context import Context

    record = calls.wait(Context(), number, timeout)
    emit_json(record) if json_out else show(record)
