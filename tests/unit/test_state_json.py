"""JSON columns through the ORM's column type (models.JSONText): a state file written
before it (JSON text in VARCHAR columns) reads as dicts and lists, writes keep the same
text, and the sqlite3 fast path reads the columns as before."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from faasctl.config import Settings
from faasctl.core import functions, nodes, runtimes
from faasctl.core.context import Context
from faasctl.errors import NotFound
from faasctl.state import fastpath, migrate, reads, revision
from faasctl.state.db import transaction
from faasctl.state.models import Function, Node

# The tables as an earlier faasctl created them (sqlmodel `str` columns: VARCHAR).
OLD_TABLES = """
CREATE TABLE runtime (name VARCHAR NOT NULL, image VARCHAR NOT NULL, path VARCHAR NOT NULL,
    dependencies VARCHAR NOT NULL, run VARCHAR NOT NULL, handler VARCHAR NOT NULL, stem_cells INTEGER,
    source_digest VARCHAR NOT NULL, base VARCHAR NOT NULL, offline_base VARCHAR NOT NULL,
    created_at FLOAT NOT NULL, PRIMARY KEY (name));
CREATE TABLE node (name VARCHAR NOT NULL, kind VARCHAR NOT NULL, host VARCHAR NOT NULL, port INTEGER NOT NULL,
    user VARCHAR NOT NULL, key_path VARCHAR NOT NULL, labels VARCHAR NOT NULL, agent_home VARCHAR NOT NULL,
    zmq_endpoint VARCHAR NOT NULL, http_port INTEGER NOT NULL, server_key VARCHAR NOT NULL,
    agent_version VARCHAR NOT NULL, defaults VARCHAR NOT NULL, added_at FLOAT NOT NULL, PRIMARY KEY (name));
CREATE TABLE function (name VARCHAR NOT NULL, runtime_name VARCHAR NOT NULL, version INTEGER NOT NULL,
    digest VARCHAR NOT NULL, mode VARCHAR NOT NULL, handler VARCHAR NOT NULL, policy VARCHAR NOT NULL,
    placement VARCHAR NOT NULL, pinned VARCHAR NOT NULL, created_at FLOAT NOT NULL, updated_at FLOAT NOT NULL,
    PRIMARY KEY (name), FOREIGN KEY(runtime_name) REFERENCES runtime (name));
CREATE TABLE deployment (function_name VARCHAR NOT NULL, node_name VARCHAR NOT NULL, digest VARCHAR NOT NULL,
    version INTEGER NOT NULL, deployed_at FLOAT NOT NULL, PRIMARY KEY (function_name, node_name));
"""
DIGEST = "d" * 64


def old_state(home: Path) -> Context:
    home.mkdir(mode=0o700)
    conn = sqlite3.connect(home / "state.db")
    conn.executescript(OLD_TABLES)
    conn.execute("INSERT INTO runtime VALUES ('python', 'img', '/ws', '', 'python3 test.py', '', NULL, '', '', '', 1)")
    conn.execute("INSERT INTO node VALUES ('n1', 'ssh', 'h', 22, 'u', '', ?, '/a', 'tcp://127.0.0.1:1', 2, 'k', "
                 "'1', ?, 1)", (json.dumps({"zone": "eu"}), json.dumps({"preload": "none", "stem_cells": 1})))
    conn.execute("INSERT INTO node VALUES ('n2', 'local', '', 22, '', '', '', '/b', 'tcp://127.0.0.1:2', 3, 'k', "
                 "'1', '', 1)")  # empty text: read as the empty value, as before
    conn.execute("INSERT INTO function VALUES ('dice', 'python', 2, ?, 'command', '', ?, 'warm-first', ?, 1, 1)",
                 (DIGEST, json.dumps({"timeout": 5.0, "memory_mb": 64}), json.dumps(["zone=eu"])))
    conn.execute("INSERT INTO deployment VALUES ('dice', 'n1', ?, 2, 1)", (DIGEST,))
    conn.commit()
    conn.close()
    return Context(Settings(home=home))


def test_a_state_file_written_before_reads_as_values(tmp_path: Path) -> None:
    ctx = old_state(tmp_path / "home")
    n1, n2 = nodes.get(ctx, "n1"), nodes.get(ctx, "n2")
    assert (n1["labels"], n1["defaults"]) == ({"zone": "eu"}, {"preload": "none", "stem_cells": 1})
    assert (n2["labels"], n2["defaults"]) == ({}, {})
    fn = functions.get(ctx, "dice")
    assert (fn["policy"], fn["pinned"], fn["placement"]) == ({"timeout": 5.0, "memory_mb": 64}, ["zone=eu"],
                                                               "warm-first")
    assert (fn["functionName"], fn["runtimeName"]) == ("dice", "python")
    assert [n["labels"] for n in nodes.all_nodes(ctx)] == [{"zone": "eu"}, {}]
    ctx.close()


def test_columns_added_since_are_added_by_the_migrations_with_their_defaults(tmp_path: Path) -> None:
    """A file made before runtimes named their runner and functions their kind (issue 13)."""
    ctx = old_state(tmp_path / "home")
    path = tmp_path / "home" / "state.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate.ensure(conn, path)  # what the plain-sqlite3 readers run before they read
    assert [r["runner"] for r in reads.select(conn, "runtime")] == ["python"]
    assert revision.read(conn) == revision.HEAD
    migrate.ensure(conn, path)  # a second time finds nothing to do
    conn.close()
    assert functions.get(ctx, "dice")["kind"] == "command" and runtimes.get(ctx, "python")["runner"] == "python"
    ctx.close()


def test_writes_keep_the_text_and_the_fast_path_reads_it(tmp_path: Path) -> None:
    ctx = old_state(tmp_path / "home")
    with transaction(ctx.engine) as s:
        fn = s.get(Function, "dice")
        node = s.get(Node, "n1")
        assert fn is not None and node is not None
        fn.policy = {**fn.policy, "timeout": 7.5}
        fn.pinned = ["n1"]
        node.labels = {"zone": "us", "disk": "ssd"}
    raw = sqlite3.connect(tmp_path / "home" / "state.db")
    stored = raw.execute("SELECT policy, pinned FROM function").fetchone()
    assert stored == (json.dumps({"timeout": 7.5, "memory_mb": 64}), json.dumps(["n1"]))
    assert raw.execute("SELECT labels, typeof(labels) FROM node WHERE name='n1'").fetchone() == \
        (json.dumps({"zone": "us", "disk": "ssd"}), "text")
    raw.close()
    target = fastpath.target(ctx.fast, "dice")  # what `faasctl invoke` reads: the same text
    assert json.loads(target["function"]["policy"]) == {"timeout": 7.5, "memory_mb": 64}
    assert json.loads(target["function"]["pinned"]) == ["n1"]
    assert json.loads(target["nodes"][0]["labels"]) == {"zone": "us", "disk": "ssd"}
    ctx.close()


def test_a_new_file_keeps_text_columns(tmp_path: Path) -> None:
    """sqlalchemy's own JSON type would declare JSON (NUMERIC affinity): a JSON number
    would be stored as a number, and the fast path would read it so."""
    ctx = Context(Settings(home=tmp_path / "home"))
    with transaction(ctx.engine) as s:
        s.add(Node(name="n", labels={}, defaults={"timeout": 5}))
    raw = sqlite3.connect(tmp_path / "home" / "state.db")
    types = {row[1]: row[2] for row in raw.execute("PRAGMA table_info(node)")}
    types.update({row[1]: row[2] for row in raw.execute("PRAGMA table_info(function)")})
    assert {types[c] for c in ("labels", "defaults", "policy", "pinned")} == {"VARCHAR"}
    assert raw.execute("SELECT defaults, typeof(defaults) FROM node").fetchone() == ('{"timeout": 5}', "text")
    raw.close()
    ctx.close()


@pytest.mark.parametrize("call,message", [
    (lambda ctx: nodes.get(ctx, "nope"), "no node named 'nope'"),
    (lambda ctx: functions.get(ctx, "nope"), "no function named 'nope'"),
    (lambda ctx: runtimes.get(ctx, "nope"), "no runtime named 'nope'"),
    (lambda ctx: runtimes.remove(ctx, "nope"), "no runtime named 'nope'"),
])
def test_a_missing_row_is_not_found_with_a_hint(tmp_path: Path, call: object, message: str) -> None:
    ctx = old_state(tmp_path / "home")
    with pytest.raises(NotFound) as err:
        call(ctx)  # type: ignore[operator]
    assert err.value.message == message and err.value.hint.startswith("see `faasctl ")
    ctx.close()
