"""How faasctl reaches a node's shell and disk: one small interface, several backends.

What to run on a node is data (`faasctl.core.bootstrap` makes Steps); a connector only
knows how to run a command and place a file there. The local connector does it with
subprocess and the file system; the SSH connector with paramiko and rsync.

The registry is the package itself: a node of kind K is reached by the module
``faasctl.connectors.K``, which sets ``KIND = "K"`` and offers ``for_node(node, home)``.
A new kind of connector is one new file; modules are imported only when a node of
their kind is used, so SSH's cost is paid only on SSH paths.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Connector

_KIND = re.compile(r"[a-z][a-z0-9_]{0,30}")
_NOT_KINDS = {"base", "hostkeys", "sshstream", "target", "transfer", "tunnel"}  # helper modules


def for_node(node: Mapping[str, Any], home: Path) -> Connector:
    """The connector for a node row (`home` is FAASCTL_HOME, where trust files live)."""
    kind = str(node["kind"])
    module: Any = None
    if _KIND.fullmatch(kind) and kind not in _NOT_KINDS:
        try:
            module = importlib.import_module(f"{__name__}.{kind}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{kind}":
                raise
    if module is None or getattr(module, "KIND", None) != kind:
        from ..errors import InvalidInput

        raise InvalidInput(f"node {node['name']} has kind {kind!r}, which this faasctl cannot reach",
                           "upgrade faasctl, or remove the node: faasctl node rm NAME --force")
    connector: Connector = module.for_node(node, home)
    return connector
