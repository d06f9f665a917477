"""NodeSpec: everything that can be said about an SSH node, written down once.

`faasctl node add --host`, an inventory entry and `node upgrade` (from the state) all
make one, and bootstrap takes it. It extends the connector's SshTarget (where the node
is and which host key to trust) with what the agent on it is configured with.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..connectors.target import SshTarget, ssh_settings
from ..errors import InvalidInput

# What an entry (an inventory table, the options of `node add`) may say, and the field
# it sets; `host` ([USER@]HOST[:PORT]), `preload` and `policy` are read apart.
ENTRY_FIELDS = {"port": "port", "user": "user", "key": "key_path", "labels": "labels",
                "agent_port": "agent_port", "agent_bind": "agent_bind", "agent_address": "agent_address",
                "http_port": "http_port", "home": "home", "sudo": "sudo", "tunnel": "tunnel",
                "host_key_fingerprint": "pinned_fingerprint", "accept_new_host_key": "accept_new"}
FIELDS = {"host", "preload", "policy", *ENTRY_FIELDS}


@dataclass(frozen=True)
class NodeSpec(SshTarget):
    labels: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)  # preload and limits for the agent
    agent_port: int = 7701
    agent_bind: str = "0.0.0.0"
    agent_address: str = ""  # host[:port] the operator dials, when not host:agent_port
    http_port: int = 7702
    home: str = ""  # default: $HOME/.faasctl-agent/NAME on the node

    def endpoint(self) -> str:
        if self.tunnel:  # the address on the node the tunnel leads to
            return f"tcp://127.0.0.1:{self.agent_port}"
        address = self.agent_address or self.host
        if ":" not in address:
            address = f"{address}:{self.agent_port}"
        return f"tcp://{address}"

    def ssh_settings(self, build: str) -> dict[str, Any]:
        """What the state keeps of this spec beyond the node row's columns (see from_row)."""
        return {"sudo": self.sudo, "agent_port": self.agent_port, "agent_bind": self.agent_bind,
                "build": build, "tunnel": self.tunnel}

    @classmethod
    def from_row(cls, node: dict[str, Any]) -> NodeSpec:
        """Rebuild a spec from the state, for `node upgrade` and repairs."""
        ssh = ssh_settings(node)
        defaults = node["defaults"] if isinstance(node["defaults"], dict) else json.loads(node["defaults"] or "{}")
        return cls(name=node["name"], host=node["host"], port=node["port"], user=node["user"],
                   key_path=node["key_path"], labels=node["labels"],
                   defaults={k: v for k, v in defaults.items() if k != "_ssh"},
                   agent_port=int(ssh.get("agent_port", 7701)), agent_bind=ssh.get("agent_bind", "0.0.0.0"),
                   agent_address="" if ssh.get("tunnel") else node["zmq_endpoint"].removeprefix("tcp://"),
                   http_port=node["http_port"], home=node["agent_home"], sudo=bool(ssh.get("sudo")),
                   tunnel=bool(ssh.get("tunnel")))

    @classmethod
    def parse(cls, name: str, entry: dict[str, Any], base: Path | None = None) -> NodeSpec:
        """A spec from an entry; relative key paths are read relative to `base`."""
        unknown = set(entry) - FIELDS
        if unknown:
            raise InvalidInput(f"node {name}: unknown field(s) {', '.join(sorted(unknown))}",
                               f"known fields: {', '.join(sorted(FIELDS))}")
        if not entry.get("host"):
            raise InvalidInput(f"node {name} has no host", "add host = \"[user@]address[:port]\"")
        user, host, port = parse_host(str(entry["host"]))
        defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
        values: dict[str, Any] = {"name": name, "host": host}
        try:
            for key, attr in ENTRY_FIELDS.items():
                if entry.get(key) is not None:
                    kind = type(defaults[attr]) if attr in defaults else dict
                    value = entry[key]
                    values[attr] = ({str(k): str(v) for k, v in dict(value).items()} if kind is dict
                                    else bool(value) if kind is bool else kind(value))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"node {name}: {exc}", "ports are integers, labels a table of strings") from exc
        values["port"], values["user"] = port or values.get("port", 22), user or values.get("user", "")
        key = values.get("key_path", "")
        if key and base is not None and not key.startswith("~") and not Path(key).is_absolute():
            values["key_path"] = str((base / key).resolve())
        policy = dict(entry.get("policy") or {})
        if entry.get("preload"):
            policy["preload"] = entry["preload"]
        if policy:
            from .functions import check_policy

            values["defaults"] = check_policy(policy)
        return cls(**values)


def parse_host(text: str) -> tuple[str, str, int | None]:
    """[USER@]HOST[:PORT] -> (user, host, port or None)."""
    user, _, rest = text.rpartition("@")
    host, sep, port = rest.partition(":")
    if sep and not port.isdigit():
        raise InvalidInput(f"{text!r} is not [USER@]HOST[:PORT]", "write it like root@10.0.0.5:22")
    return user, host, int(port) if sep else None
