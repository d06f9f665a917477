"""Per-process handles: settings, the state engine, agent clients, connectors.

Everything heavy is opened on first use, so a command pays only for what it touches.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..config import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..agentclient import AgentClient
    from ..connectors.base import Connector
    from ..state.fastpath import StateConnection
    from ..state.groupcommit import GroupCommit


class Context:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.load()
        self._clients: dict[str, AgentClient] = {}
        self._connectors: dict[str, Connector] = {}
        self._identity: dict[str, str] | None = None

    @cached_property
    def engine(self) -> Engine:
        from ..state.db import open_engine

        return open_engine(self.settings.state_path, self.settings.state_url)

    @cached_property
    def fast(self) -> StateConnection:
        from ..state import fastpath, migrate

        conn = fastpath.connect(self.settings.state_path, url=self.settings.state_url)
        try:  # `invoke` may be the first command a newer faasctl runs on an older file
            migrate.ensure(conn, self.settings.state_path)
        except BaseException:
            conn.close()
            raise
        return conn

    @cached_property
    def records(self) -> GroupCommit:
        """The process's one writer of call records to this state file, shared by every
        Context on it (serve's core threads, a bench's callers), so their records share
        transactions and fsyncs (state/groupcommit.py)."""
        from functools import partial

        from ..state import fastpath, groupcommit

        return groupcommit.for_file(self.settings.state_path, partial(fastpath.connect, shared=True),
                                    self.settings.state_url)

    @cached_property
    def reader(self) -> StateConnection:
        """The plain sqlite3 connection for reads (core/listing.py), on a file at the
        migrations' head. Only a home without a state file opens the ORM engine, which makes it
        (a database is made at the head by `fast` itself)."""
        if not self.settings.state_url and not self.settings.state_path.exists():
            self.engine  # noqa: B018  (opening it creates the file and its tables)
        return self.fast

    def identity(self) -> dict[str, str]:
        """This operator's CURVE key pair (FAASCTL_HOME/keys, 0600), made on first need."""
        if self._identity is None:
            from ..state import keyfiles

            self._identity = keyfiles.operator_keys(self.settings.keys_dir, self.settings.state_path)
        return self._identity

    def client(self, node: dict[str, Any], identity: dict[str, str] | None = None) -> AgentClient:
        from ..agentclient import AgentClient

        key = f"{node['name']}|{node['zmq_endpoint']}|{node['server_key']}"
        if key not in self._clients:
            endpoint = self.connector(node).endpoint(node["zmq_endpoint"])  # a tunnel's local port
            keys = identity or self.identity()
            from ..config import operator_name

            self._clients[key] = AgentClient(node["name"], endpoint, node["server_key"], keys["public"],
                                             keys["secret"], operator_name())
        return self._clients[key]

    def connector(self, node: dict[str, Any]) -> Connector:
        """One connector per node per process: a deploy pushes several files over one session."""
        key = f"{node['name']}|{node['kind']}"
        if key not in self._connectors:
            from .. import connectors

            self._connectors[key] = connectors.for_node(node, self.settings.home)
        return self._connectors[key]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        for connector in self._connectors.values():
            connector.close()
        self._connectors.clear()
