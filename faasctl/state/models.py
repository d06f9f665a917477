"""Tables of the state file. JSON-valued columns are TEXT so the sqlite3 fast path can
read them without the ORM."""

from __future__ import annotations

import time

from faasctl_agent.policy import SPECS
from sqlmodel import Field, SQLModel, UniqueConstraint


def now() -> float:
    return time.time()


class Node(SQLModel, table=True):
    name: str = Field(primary_key=True)
    kind: str = "local"  # local | ssh
    host: str = ""
    port: int = 22
    user: str = ""
    key_path: str = ""
    labels: str = "{}"  # JSON object
    agent_home: str = ""
    zmq_endpoint: str = ""
    http_port: int = 0
    server_key: str = ""  # the agent's CURVE public key (z85)
    agent_version: str = ""
    defaults: str = "{}"  # JSON object of preload/limit defaults for this node
    added_at: float = Field(default_factory=now)


class NodeHealth(SQLModel, table=True):
    """A suspect node (no row: healthy). Its own table, so create_all adds it to an old file.

    Columns match core.health.DDL, which the sqlite3 fast path uses when it finds none."""

    __tablename__ = "node_health"
    node: str = Field(primary_key=True)
    failures: int = 0  # consecutive failures, probes that were claimed included
    down_since: float = 0.0
    last_error: str = ""
    last_failed_at: float = 0.0
    skip_until: float = 0.0  # placement skips the node until then; then one process probes it
    probing_until: float = 0.0  # a probe is in progress until then


class Runtime(SQLModel, table=True):
    name: str = Field(primary_key=True)
    image: str
    path: str = "/ws"
    dependencies: str = ""
    run: str = ""
    handler: str = ""
    stem_cells: int | None = None  # stem cells per node for preload "runtime"; None: node default
    source_digest: str = ""  # packed build context, when built from a folder
    base: str = ""
    offline_base: str = ""
    created_at: float = Field(default_factory=now)


class Function(SQLModel, table=True):
    name: str = Field(primary_key=True)
    runtime_name: str = Field(foreign_key="runtime.name")
    version: int = 0
    digest: str = ""
    mode: str = "command"  # command | handler
    handler: str = ""
    policy: str = "{}"  # JSON: preload, min_warm, max_concurrency, timeout, memory_mb, ...
    placement: str = SPECS["placement"].default
    pinned: str = "[]"  # JSON list of node names or label selectors (key=value)
    created_at: float = Field(default_factory=now)
    updated_at: float = Field(default_factory=now)


class FunctionVersion(SQLModel, table=True):
    __tablename__ = "function_version"
    __table_args__ = (UniqueConstraint("function_name", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    function_name: str = Field(index=True)
    version: int
    digest: str
    filename: str = ""
    size: int = 0
    created_at: float = Field(default_factory=now)


class Deployment(SQLModel, table=True):
    """Which version of a function each node holds."""

    function_name: str = Field(primary_key=True)
    node_name: str = Field(primary_key=True)
    digest: str
    version: int
    deployed_at: float = Field(default_factory=now)


class Call(SQLModel, table=True):
    call_num: int | None = Field(default=None, primary_key=True)
    uid: str = Field(index=True, unique=True)
    func_name: str = Field(index=True)
    version: int = 0
    params: str = "null"  # JSON
    status: str = Field(default="PENDING", index=True)
    result: str = ""
    error: str = ""
    log: str = ""
    node: str = ""
    start_kind: str = ""
    queue_ms: float | None = None
    start_ms: float | None = None
    run_ms: float | None = None
    is_async: bool = False
    created_at: float = Field(default_factory=now)
    finished_at: float | None = None

# The operator's CURVE key pair is not a table: see keyfiles.py (FAASCTL_HOME/keys, 0600).
