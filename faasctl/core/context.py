"""Per-process handles: settings, the state engine, agent clients, connectors.

Everything heavy is opened on first use, so a command pays only for what it touches.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..config import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..agentclient import AgentClient
    from ..connectors.base import Connector
    from ..state.fastpath import StateConnection


class Context:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.load()
        self._clients: dict[str, AgentClient] = {}
        self._connectors: dict[str, Connector] = {}
        self._identity: dict[str, str] | None = None

    @cached_property
    def engine(self) -> Engine:
        from ..state.db import open_engine

        return open_engine(self.settings.state_path)

    @cached_property
    def fast(self) -> StateConnection:
        from ..state import fastpath

        return fastpath.connect(self.settings.state_path)

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
            endpoint = node["zmq_endpoint"]
            if node["kind"] == "ssh" and _ssh_settings(node).get("tunnel"):
                port = int(endpoint.rsplit(":", 1)[1])
                local = self.connector(node).forward("127.0.0.1", port)  # type: ignore[attr-defined]
                endpoint = f"tcp://127.0.0.1:{local}"
            keys = identity or self.identity()
            self._clients[key] = AgentClient(node["name"], endpoint, node["server_key"], keys["public"],
                                             keys["secret"])
        return self._clients[key]

    def connector(self, node: dict[str, Any]) -> Connector:
        if node["kind"] == "local":
            from ..connectors.local import LocalConnector

            return LocalConnector(node["name"])
        if node["kind"] == "ssh":
            # One SSH session per node per process: a deploy pushes several files.
            if node["name"] not in self._connectors:
                from ..connectors.ssh import SshConnector
                from .nodes_ssh import target_for

                self._connectors[node["name"]] = SshConnector(target_for(self, node))
            return self._connectors[node["name"]]
        from ..errors import InvalidInput

        raise InvalidInput(f"node {node['name']} has kind {node['kind']!r}, which this faasctl cannot reach")

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        for connector in self._connectors.values():
            connector.close()
        self._connectors.clear()


def _ssh_settings(node: dict[str, Any]) -> dict[str, Any]:
    """SSH-only settings kept in the node's defaults (a JSON string in fast-path rows)."""
    defaults = node.get("defaults") or {}
    parsed = json.loads(defaults) if isinstance(defaults, str) else defaults
    return dict(parsed.get("_ssh", {}))


def loads(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default
