"""`faasctl serve`: the platform behind a local REST API (the seed's routes and /v1).

fastapi and uvicorn are imported inside the command, so `faasctl --help` stays fast.
The token is best given by file or environment: argv is shown to every local user by `ps`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

TOKEN_ENV = "FAASCTL_TOKEN"
OLD_TOKEN_ENV = "FAASCTL_API_TOKEN"  # still read, as before
MAX_WORKERS_PER_CPU = 4


def read_token(token: str, token_file: Path | None) -> str:
    """The API token from --token-file, --token or the environment (in that order of trust)."""
    from ..errors import InvalidInput

    if token and token_file:
        raise InvalidInput("--token and --token-file both given", "keep --token-file (argv shows in `ps`)")
    if token_file is not None:
        try:
            st = token_file.stat()
            text = token_file.read_text().strip()
        except OSError as exc:
            raise InvalidInput(f"cannot read the token file {token_file}: {exc.strerror}",
                               "write the token into a file only you can read: chmod 600 FILE") from exc
        if st.st_mode & 0o077:
            raise InvalidInput(f"the token file {token_file} is readable by other users",
                               f"chmod 600 {token_file}")
        if not text or "\n" in text:
            raise InvalidInput(f"the token file {token_file} must hold one non-empty line",
                               "write the token alone on its line")
        return text
    if token:
        print(f"warning: --token shows in `ps` to every local user; prefer --token-file or {TOKEN_ENV}",
              file=sys.stderr)
        return token
    return os.environ.get(TOKEN_ENV) or os.environ.get(OLD_TOKEN_ENV) or ""


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on; anything but loopback needs a token."),
        port: int = typer.Option(3000, min=1, max=65535, help="TCP port (the seed used 3000)."),
        token_file: Path = typer.Option(None, "--token-file", show_default=False,
                                        help="Require `Authorization: Bearer TOKEN`, TOKEN read from this file "
                                        "(mode 600)."),
        token: str = typer.Option("", show_default=False,
                                  help=f"The token on the command line (visible in `ps`: prefer --token-file or "
                                  f"the {TOKEN_ENV} environment variable)."),
        max_body_mb: float = typer.Option(64.0, min=0.001, help="Largest request body in MiB; larger gets 413."),
        log_level: str = typer.Option("info", help="uvicorn log level: critical, error, warning, info, debug."),
        access_log: bool = typer.Option(False, "--access-log/--no-access-log",
                                        help="A log line per request (off by default: under load it costs CPU "
                                        "every request pays; the errors are logged either way)."),
        workers: int = typer.Option(1, help="Processes serving the same port and state file (uvicorn's workers; "
                                    f"at most {MAX_WORKERS_PER_CPU} per CPU). Any of them answers for any call."),
    ) -> None:
        """Serve the seed-compatible API and /v1 (OpenAPI at /openapi.json, docs at /docs)."""
        from ..api.guards import is_loopback
        from ..errors import InvalidInput

        check_workers(workers)
        secret = read_token(token, token_file)
        if not secret and not is_loopback(host):
            raise InvalidInput(f"refusing to listen on {host} without a token",
                               f"pass --token-file FILE (or set {TOKEN_ENV}); clients then send "
                               "`Authorization: Bearer TOKEN`; or listen on 127.0.0.1")
        import uvicorn

        from ..api import app as api

        max_body = int(max_body_mb * 1024 * 1024)
        auth = "a bearer token is required" if secret else "loopback only, no token"
        many = f", {workers} workers" if workers > 1 else ""
        print(f"faasctl serve: http://{host}:{port} ({auth}{many}); OpenAPI at /openapi.json", flush=True)
        if workers == 1:
            from ..core.context import Context

            application = api.create_app(Context(), token=secret or None, max_body=max_body)
            uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=access_log,
                        proxy_headers=False)
            return
        # uvicorn binds the port once and spawns the workers, which build their app by name
        os.environ[api.TOKEN_VAR], os.environ[api.MAX_BODY_VAR] = secret, str(max_body)
        from ..config import STATE_URL_ENV, default_state_url

        if default_state_url():  # --state-url reaches the workers as the environment's
            os.environ[STATE_URL_ENV] = default_state_url()
        uvicorn.run("faasctl.api.app:from_environment", factory=True, workers=workers, host=host, port=port,
                    log_level=log_level, access_log=access_log, proxy_headers=False)


def check_workers(workers: int) -> None:
    from ..errors import InvalidInput

    most = MAX_WORKERS_PER_CPU * (os.cpu_count() or 1)
    if workers < 1:
        raise InvalidInput(f"--workers {workers}: at least one process must serve",
                           "pass --workers 1 (the default) or more")
    if workers > most:
        raise InvalidInput(f"--workers {workers} is more than {most} ({MAX_WORKERS_PER_CPU} per CPU here)",
                           f"pass --workers {most} or fewer: more processes only wait for the CPUs and "
                           "the state file's write lock")
