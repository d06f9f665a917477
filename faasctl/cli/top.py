"""Top-level verbs: `invoke` and `logs`."""

from __future__ import annotations

import sys
from typing import Any, List

import typer


def parse_params(pairs: list[str], data: str | None) -> Any:
    """-p key=value pairs, or --data JSON, or JSON on stdin (when piped)."""
    import json

    from ..errors import InvalidInput

    if pairs and data is not None:
        raise InvalidInput("give either -p KEY=VALUE or --data JSON, not both")
    if data is None and not pairs and sys.stdin is not None and not sys.stdin.isatty():
        data = sys.stdin.read() or None
    if data is not None:
        try:
            return json.loads(data)
        except ValueError as exc:
            raise InvalidInput(f"--data is not valid JSON: {exc}", 'quote it like --data \'{"roll": "4d6"}\'') from exc
    from ..core.names import key_values

    return key_values(pairs, "parameter", "-p roll=4d6")


def register(app: typer.Typer) -> None:
    @app.command("invoke")
    def invoke(
        name: str = typer.Argument(..., help="Function to call: NAME (its `live` alias if set, else its current "
                                   "version), NAME@N (version N) or NAME@ALIAS."),
        param: List[str] = typer.Option(None, "--param", "-p", help="KEY=VALUE parameter (repeatable)."),
        data: str = typer.Option(None, "--data", "-d", help="Parameters as one JSON value."),
        json_out: bool = typer.Option(False, "--json", help="Print the whole call record as JSON."),
        is_async: bool = typer.Option(False, "--async", help="Return the call number at once."),
        node: str = typer.Option("", "--node", help="Run on this node instead of the placement policy's pick."),
        retries: int = typer.Option(0, help="With --async: run again up to N times if the function fails (ERROR)."),
        force_probe: bool = typer.Option(False, "--force-probe",
                                         help="Try nodes marked down too, instead of skipping them until their "
                                         "next probe."),
    ) -> None:
        """Call a function and print its result (exit 9 if it failed, 10 if it timed out)."""
        from ..core.context import Context
        from ..core.invoke import check_outcome
        from ..core.invoke import invoke as do_invoke
        from ..errors import InvalidInput

        if retries and not is_async:
            raise InvalidInput("--retries works with --async calls only", "add --async, then `faasctl call wait N`")
        if not 0 <= retries <= 10:
            raise InvalidInput(f"--retries {retries} is outside 0..10")
        params = parse_params(list(param or []), data)
        record = do_invoke(Context(), name, params, is_async=is_async, node=node, retries=retries,
                           force_probe=force_probe)
        if json_out:
            import json

            sys.stdout.write(json.dumps(record, indent=2) + "\n")
        elif is_async:
            print(record["callNum"])
        else:
            if record["result"]:
                print(record["result"])
        if not is_async:
            check_outcome(record)

    @app.command("logs")
    def logs(number: int = typer.Argument(..., help="Call number.")) -> None:
        """What the function wrote to stderr (and stdout in handler mode) during one call."""
        from ..core import calls
        from ..core.context import Context

        sys.stdout.write(calls.logs(Context(), number))
