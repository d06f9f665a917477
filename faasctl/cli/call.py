"""`faasctl call`: the durable records of invocations."""

from __future__ import annotations

from typing import Any

import typer

from .output import emit_json, ms, table

app = typer.Typer(help="List, get and wait for calls.", no_args_is_help=True)


def show(record: dict[str, object]) -> None:
    for key in ("callNum", "funcName", "version", "alias", "status", "node", "startKind", "params", "result",
                "error"):
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
    follow: bool = typer.Option(False, "--follow", "-F",
                                help="Then print each new call as it finishes, until Ctrl-C (exit 130). "
                                "-F, since -f is --function."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (with --follow: one object per line)."),
) -> None:
    """Recent calls, newest first (unfinished ones are first brought up to date from their nodes).

    With --follow the recent calls are printed oldest first, then every call that finishes
    (new ones, and unfinished ones when they finish) as one more line, like `tail -f`; the
    state file is read about twice a second."""
    from ..core import listing  # plain sqlite3: no ORM import for a listing
    from ..core.context import Context

    if follow:
        _follow(Context(), function, status, limit, json_out)
        return
    rows = listing.list_calls(Context(), function, status, limit, refresh=20)
    if json_out:
        emit_json(rows)
        return
    table(HEADERS, [_cells(r) for r in rows], empty="no calls yet")


HEADERS = ["call", "function", "status", "node", "start", "run ms", "result"]
WIDTHS = (6, 20, 7, 12, 5, 8, 0)  # --follow: fixed columns, since later rows cannot widen earlier ones


def _cells(r: dict[str, Any]) -> list[Any]:
    return [r["callNum"], r["funcName"], r["status"], r["node"], r["startKind"], ms(r["runMs"]), str(r["result"])[:40]]


def _follow(ctx: Any, function: str, status: str, limit: int, json_out: bool) -> None:
    """Print the recent calls, then each call as it finishes; ends only with Ctrl-C, whose
    KeyboardInterrupt the entry point turns into exit 130, as `tail -f` ends: a script can
    tell a stream it stopped from one that ended by itself (there is none)."""
    import json

    from ..core import calls
    from .environment import current

    out = current().stdout

    def line(r: dict[str, Any]) -> None:
        if json_out:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
        else:
            cells = [("" if c is None else str(c)) for c in _cells(r)]
            out.write("  ".join(c.ljust(w) for c, w in zip(cells, WIDTHS)).rstrip() + "\n")
        out.flush()

    try:
        cursor = calls.cursor_now(ctx, function)  # before the listing: nothing finishing in between is missed
        stream = calls.follow(ctx, function, status, cursor=cursor)  # checks --status before printing
        recent = calls.list_calls(ctx, function, status, limit, refresh=20)
        if not json_out:
            out.write("  ".join(h.upper().ljust(w) for h, w in zip(HEADERS, WIDTHS)).rstrip() + "\n")
        for r in reversed(recent):
            line(r)
        shown = {r["callNum"] for r in recent if calls.finished(r)}  # not printed a second time
        for r in stream:
            if r["callNum"] not in shown:
                line(r)
    except BrokenPipeError:  # the reader went away (`| head -3`): stop as quietly as tail does
        _quiet_stdout(out)
    finally:
        ctx.close()


def _quiet_stdout(out: Any) -> None:
    """After a broken pipe, point the process's stdout at /dev/null, so the flush at exit
    does not report the same broken pipe again."""
    import os
    import sys

    if out is sys.stdout:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@app.command("get")
def get(number: int, json_out: bool = typer.Option(False, "--json", help="Print the whole record as JSON.")) -> None:
    """One call (refreshed from its node while unfinished)."""
    from ..core import listing
    from ..core.context import Context

    record = listing.get_call(Context(), number)
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
