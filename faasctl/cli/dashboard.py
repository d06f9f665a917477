"""`faasctl dashboard`: nodes, functions and calls live in the terminal (textual).

textual and the dashboard package are imported inside the command, so no other command
pays for them at start. Without --url it reads this machine's state file, as the other
commands do; with --url it shows a remote `faasctl serve` through its /v1 API, with the
token read as `serve` reads it (file, then environment; never argv).
"""

from __future__ import annotations

from pathlib import Path

import typer

from .serve import TOKEN_ENV, read_token

HELP = f"""Show nodes, functions and calls live, and act on them, in the terminal.

Tabs: 1 Nodes (up/down, agent, running calls, load, warm containers, stem cells),
2 Functions (policy, warm per node, calls, errors, p50/p99, sparklines), 3 Calls (a live
tail, filterable; Enter opens a call with its log). Keys: i invoke, p policy, d drain,
x remove (each change asks first), ? help, q or Ctrl-C quit.

Without --url it shows this machine's platform (FAASCTL_HOME). With --url
http://HOST:3000 it shows a `faasctl serve` instead; its token comes from --token-file or
the {TOKEN_ENV} environment variable."""


def register(app: typer.Typer) -> None:
    @app.command("dashboard", help=HELP)
    def dashboard(
        url: str = typer.Option("", "--url", show_default=False,
                                help="A `faasctl serve` to show, e.g. http://HOST:3000 (default: the local state)."),
        token_file: Path = typer.Option(None, "--token-file", show_default=False,
                                        help=f"With --url: the serve's bearer token, read from this file (mode 600); "
                                        f"else from {TOKEN_ENV}."),
    ) -> None:
        from ..errors import InvalidInput

        if token_file is not None and not url:
            raise InvalidInput("--token-file needs --url", "the local state needs no token; add --url http://HOST:3000")
        if url and not url.startswith(("http://", "https://")):
            raise InvalidInput(f"--url {url!r} is not an http:// or https:// URL", "e.g. --url http://127.0.0.1:3000")
        from ..dashboard.app import DashboardApp
        from ..dashboard.remote import RemoteSource
        from ..dashboard.source import Source
        from ..dashboard.sources import LocalSource

        source: Source = RemoteSource(url, read_token("", token_file)) if url else LocalSource()
        app = DashboardApp(source)
        app.run()
        if app.return_code:  # textual has printed the traceback of what stopped it
            from ..errors import InternalError

            raise InternalError("the dashboard stopped on an unexpected error (above)",
                               "please report it with the traceback")
