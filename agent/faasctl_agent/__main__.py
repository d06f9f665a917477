"""faasctl-agent command line: the node-side verbs that bootstrap steps call.

Every verb is idempotent so that a bootstrap can simply be run again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faasctl-agent", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb, text in [
        ("run", "serve in the foreground"), ("supervise", "run and restart the agent"),
        ("start", "start in the background unless running"), ("stop", "stop and remove containers"),
        ("status", "print health as JSON"), ("pubkey", "print the server public key (made once)"),
    ]:
        p = sub.add_parser(verb, help=text)
        p.add_argument("--home", type=Path, required=True)
    sub.choices["stop"].add_argument("--purge", action="store_true",
                                     help="also remove this node's containers, volumes and home")
    sub.choices["stop"].add_argument("--unconfigure", action="store_true",
                                     help="also remove its containers, volumes and agent.json (keep the venv)")
    init = sub.add_parser("init", help="write agent.json (kept if present unless --force)")
    init.add_argument("--home", type=Path, required=True)
    init.add_argument("--name", required=True)
    init.add_argument("--zmq", default="tcp://127.0.0.1:7701")
    init.add_argument("--http-port", type=int, default=7702)
    init.add_argument("--defaults", default="{}", help="JSON object of policy defaults")
    init.add_argument("--force", action="store_true", help="rewrite it (its instance and token are kept)")
    auth = sub.add_parser("authorize", help="accept a client public key")
    auth.add_argument("--home", type=Path, required=True)
    auth.add_argument("--client", required=True)
    auth.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    os.umask(0o077)  # everything the agent writes (journal, logs, pid files, keys) is private

    from .config import AgentConfig, private_home

    if args.home.is_dir():  # tighten a home an older agent made 0755; never create one here
        private_home(args.home)
    if args.verb == "init":
        return write_config(args)
    if args.verb == "authorize":
        from .keys import authorize
        from .protocol import AgentFailure

        try:
            authorize(args.home / "keys" / "authorized", args.client, args.key)
        except AgentFailure as exc:
            print(f"{exc.message}\n(hint: {exc.hint})", file=sys.stderr)
            return 2
        return 0
    if args.verb == "pubkey":
        from .keys import ensure_server_keys

        print(ensure_server_keys(args.home / "keys")[0].decode())
        return 0
    if not (args.home / "agent.json").exists() and args.verb == "stop":
        print("not configured")
        return 0
    config = AgentConfig.load(args.home)
    from . import daemon

    if args.verb == "run":
        from .server import serve

        serve(config)
        return 0
    if args.verb == "supervise":
        return daemon.supervise(config)
    if args.verb == "start":
        try:
            print(daemon.start(config))
        except RuntimeError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        return 0
    if args.verb == "stop":
        print("stopped" if daemon.stop(config) else "not running")
        if args.purge:
            daemon.purge(config)
        elif args.unconfigure:
            daemon.unconfigure(config)
        return 0
    status = daemon.health(config)
    print(json.dumps(status or {"ok": False}))
    return 0 if status else 1


def write_config(args: argparse.Namespace) -> int:
    """Write agent.json once; --force rewrites it but keeps the instance (its containers'
    scope) and the HTTP token. A kept config gets a token if an older agent wrote none."""
    import secrets

    from .config import AgentConfig

    existing = AgentConfig.load(args.home) if (args.home / "agent.json").exists() else None
    if existing is not None and not args.force:
        if not existing.http_token:
            existing.http_token = secrets.token_urlsafe(32)
            existing.save()
        print("kept")
        return 0
    cfg = AgentConfig(name=args.name, home=args.home, zmq_endpoint=args.zmq, http_port=args.http_port,
                      instance=existing.instance if existing else f"{args.name}-{secrets.token_hex(4)}",
                      http_token=(existing.http_token if existing else "") or secrets.token_urlsafe(32))
    cfg.defaults.update(json.loads(args.defaults))
    cfg.save()
    print("written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
