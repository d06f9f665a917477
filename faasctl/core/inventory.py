"""Inventory files: many SSH nodes in one TOML document (see inventory.example.toml).

A `[defaults]` table applies to every `[nodes.NAME]` table, which may override any field.
Unknown fields are refused (a typo such as `agnet_port` must not silently fall back to a
default), and relative key paths are read relative to the inventory file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomllib

from ..errors import InvalidInput, NotFound
from .nodes_ssh import SshNodeSpec, parse_host

FIELDS = {"host", "port", "user", "key", "labels", "agent_port", "agent_bind", "agent_address",
          "http_port", "home", "sudo", "preload", "policy", "host_key_fingerprint", "accept_new_host_key",
          "tunnel"}


def load(path: Path) -> list[SshNodeSpec]:
    if not path.is_file():
        raise NotFound(f"inventory {path} does not exist", "start from inventory.example.toml")
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: {exc}", "fix the TOML syntax") from exc
    extra = set(doc) - {"defaults", "nodes"}
    if extra:
        raise InvalidInput(f"{path}: unknown top-level table(s) {', '.join(sorted(extra))}",
                           "an inventory has [defaults] and [nodes.NAME] tables")
    defaults = doc.get("defaults", {})
    nodes = doc.get("nodes", {})
    if not nodes:
        raise InvalidInput(f"{path} lists no nodes", "add a [nodes.NAME] table with host = \"...\"")
    return [spec(name, {**defaults, **entry}, path.parent) for name, entry in nodes.items()]


def spec(name: str, entry: dict[str, Any], base: Path) -> SshNodeSpec:
    unknown = set(entry) - FIELDS
    if unknown:
        raise InvalidInput(f"node {name}: unknown field(s) {', '.join(sorted(unknown))}",
                           f"known fields: {', '.join(sorted(FIELDS))}")
    if not entry.get("host"):
        raise InvalidInput(f"node {name} has no host", "add host = \"[user@]address[:port]\"")
    user, host, port = parse_host(str(entry["host"]))
    key = str(entry.get("key", ""))
    if key and not key.startswith("~") and not Path(key).is_absolute():
        key = str((base / key).resolve())
    policy = dict(entry.get("policy", {}))
    if entry.get("preload"):
        policy["preload"] = entry["preload"]
    if policy:
        from .functions import check_policy

        policy = check_policy(policy)
    try:
        return SshNodeSpec(
            name=name, host=host, port=int(port or entry.get("port", 22)), user=user or str(entry.get("user", "")),
            key_path=key, labels={str(k): str(v) for k, v in dict(entry.get("labels", {})).items()},
            defaults=policy, agent_port=int(entry.get("agent_port", 7701)),
            agent_bind=str(entry.get("agent_bind", "0.0.0.0")), agent_address=str(entry.get("agent_address", "")),
            http_port=int(entry.get("http_port", 7702)), home=str(entry.get("home", "")),
            sudo=bool(entry.get("sudo", False)), host_key_fingerprint=str(entry.get("host_key_fingerprint", "")),
            accept_new_host_key=bool(entry.get("accept_new_host_key", False)),
            tunnel=bool(entry.get("tunnel", False)))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"node {name}: {exc}", "ports are integers, labels a table of strings") from exc
