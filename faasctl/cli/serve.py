"""`faasctl serve`: the platform behind a local REST API (the seed's routes and /v1).

fastapi and uvicorn are imported inside the command, so `faasctl --help` stays fast.
"""

from __future__ import annotations

import typer

TOKEN_ENV = "FAASCTL_API_TOKEN"


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on; anything but loopback needs --token."),
        port: int = typer.Option(3000, min=1, max=65535, help="TCP port (the seed used 3000)."),
        token: str = typer.Option("", envvar=TOKEN_ENV, show_default=False,
                                  help=f"Require `Authorization: Bearer TOKEN` on every request (or set {TOKEN_ENV})."),
        max_body_mb: float = typer.Option(64.0, min=0.001, help="Largest request body in MiB; larger gets 413."),
        log_level: str = typer.Option("info", help="uvicorn log level: critical, error, warning, info, debug."),
    ) -> None:
        """Serve the seed-compatible API and /v1 (OpenAPI at /openapi.json, docs at /docs)."""
        from ..api.guards import is_loopback
        from ..errors import InvalidInput

        if not token and not is_loopback(host):
            raise InvalidInput(f"refusing to listen on {host} without a token",
                               f"pass --token SECRET (or set {TOKEN_ENV}); clients then send "
                               "`Authorization: Bearer SECRET`; or listen on 127.0.0.1")
        import uvicorn

        from ..api import create_app
        from ..core.context import Context

        application = create_app(Context(), token=token or None, max_body=int(max_body_mb * 1024 * 1024))
        auth = "a bearer token is required" if token else "loopback only, no token"
        print(f"faasctl serve: http://{host}:{port} ({auth}); OpenAPI at /openapi.json", flush=True)
        uvicorn.run(application, host=host, port=port, log_level=log_level, proxy_headers=False)
