"""Tables of the state file. JSON-valued columns hold the text json.dumps writes (JSONText),
so the sqlite3 fast path reads them without the ORM, and files written before keep reading."""

from __future__ import annotations

import json
import time
from typing import Any

from faasctl_agent.policy import SPECS
from sqlalchemy.engine import Dialect
from sqlalchemy.types import String, TypeDecorator
from sqlmodel import Field, SQLModel, UniqueConstraint


def now() -> float:
    return time.time()


class JSONText(TypeDecorator[Any]):
    """A JSON value in a VARCHAR column: the ORM hands out dicts and lists, the file keeps
    the same text as before (sqlalchemy's JSON type would declare a column of NUMERIC
    affinity, under which SQLite stores a number's text as a number). Empty text reads
    as `empty()`, as the hand-written decoding did."""

    impl = String
    cache_ok = True

    def __init__(self, empty: type = dict) -> None:
        super().__init__()
        self.empty = empty

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return json.loads(value) if value else self.empty()


def json_field(empty: type = dict) -> Any:
    return Field(default_factory=empty, sa_type=JSONText(empty), nullable=False)


class Node(SQLModel, table=True):
    name: str = Field(primary_key=True)
    kind: str = "local"  # local | ssh
    host: str = ""
    port: int = 22
    user: str = ""
    key_path: str = ""
    labels: dict[str, str] = json_field()
    agent_home: str = ""
    zmq_endpoint: str = ""
    http_port: int = 0
    server_key: str = ""  # the agent's CURVE public key (z85)
    agent_version: str = ""
    defaults: dict[str, Any] = json_field()  # preload and limit defaults for this node
    added_at: float = Field(default_factory=now)


class NodeHealth(SQLModel, table=True):
    """A suspect node (no row: healthy). Its own table (migration 0002).

    Columns match core.health.DDL, which the sqlite3 fast path uses when it finds none."""

    __tablename__ = "node_health"
    node: str = Field(primary_key=True)
    failures: int = 0  # consecutive failures, probes that were claimed included
    down_since: float = 0.0
    last_error: str = ""
    last_failed_at: float = 0.0
    skip_until: float = 0.0  # placement skips the node until then; then one process probes it
    probing_until: float = 0.0  # a probe is in progress until then


class NodeDrain(SQLModel, table=True):
    """A drained node (no row: in service): placement gives it no new calls, running ones
    finish. Its own table (migration 0003). Only the ORM writes it
    (`faasctl node drain`, the API); the fast path reads it in a LEFT JOIN and treats a
    file without the table as having no drained node, so its schema lives here alone."""

    __tablename__ = "node_drain"
    node: str = Field(primary_key=True)
    since: float = Field(default_factory=now)


class Runtime(SQLModel, table=True):
    name: str = Field(primary_key=True)
    image: str
    path: str = "/ws"
    dependencies: str = ""
    run: str = ""
    handler: str = ""
    # which in-container runner serves it (faasctl_agent.languages): python | node
    runner: str = Field(default="python", sa_column_kwargs={"server_default": "python"})
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
    policy: dict[str, Any] = json_field()  # the options given (preload, min_warm, timeout, ...)
    # the current version's calling contract: command, native, lambda, ... (faasctl_agent.kinds)
    kind: str = Field(default="command", sa_column_kwargs={"server_default": "command"})
    placement: str = SPECS["placement"].default
    pinned: list[str] = json_field(list)  # node names or label selectors (key=value)
    # versions kept loaded on the nodes (with their code and dependencies) for instant rollback
    keep_versions: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
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
    kind: str = Field(default="command", sa_column_kwargs={"server_default": "command"})  # its calling contract
    # what a rollback needs to make this version current again (issue 14); '' in older files
    runtime_name: str = Field(default="", sa_column_kwargs={"server_default": ""})
    handler: str = Field(default="", sa_column_kwargs={"server_default": ""})
    policy: dict[str, Any] = Field(default_factory=dict, sa_type=JSONText(dict), nullable=False,
                                   sa_column_kwargs={"server_default": "{}"})


class FunctionAlias(SQLModel, table=True):
    """A name for a version (`live`, `beta`, ...), with an optional weighted second version
    for a canary. One row, so moving an alias is one atomic update; a plain invoke
    follows `live` when it exists."""

    __tablename__ = "function_alias"
    function_name: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    version: int
    canary_version: int = 0  # 0: none
    canary_weight: float = 0.0  # the share of calls sent to canary_version, chosen per call
    updated_at: float = Field(default_factory=now)


class NodeVersion(SQLModel, table=True):
    """The versions each node holds loaded (code, dependencies, a pool): what `NAME@N`, an
    alias or a rollback can use at once there. Deployment says which one is current."""

    __tablename__ = "node_version"
    function_name: str = Field(primary_key=True)
    node_name: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    digest: str
    loaded_at: float = Field(default_factory=now)


class FunctionConfig(SQLModel, table=True):
    """A version's environment and secret names (issue 13; never a secret's value). Its own
    table (migration 0005); a version without a row has neither."""

    __tablename__ = "function_config"
    function_name: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    env: dict[str, str] = json_field()
    secrets: list[str] = json_field(list)


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
    alias: str = Field(default="", sa_column_kwargs={"server_default": ""})  # the alias it was called through
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


class CallCount(SQLModel, table=True):
    """Calls per function and status, kept by triggers on `call` (state/aggregates.py), so
    `fn list` reads its counts in a few rows instead of scanning a million calls."""

    __tablename__ = "call_count"
    func_name: str = Field(primary_key=True)
    status: str = Field(primary_key=True)
    n: int = 0


class Operator(SQLModel, table=True):
    """An operator whose CURVE public key every node accepts (`faasctl operator`); the
    one running faasctl is a row too. Public keys only: each secret half stays in its
    owner's FAASCTL_HOME/keys (keyfiles.py, 0600)."""

    name: str = Field(primary_key=True)
    public_key: str = Field(unique=True)  # z85, 40 characters
    added_at: float = Field(default_factory=now)


class NodeOperators(SQLModel, table=True):
    """The set of operator keys each node confirmed at its last push: `operator list` counts
    nodes from it, and `node sync` pushes the wanted set to a node whose set differs."""

    __tablename__ = "node_operators"
    node_name: str = Field(primary_key=True)
    keys: list[str] = json_field(list)
    synced_at: float = Field(default_factory=now)

# The operator's CURVE key pair is not a table: see keyfiles.py (FAASCTL_HOME/keys, 0600).
