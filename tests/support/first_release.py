"""The state file as the first release made it: the schema sqlmodel's create_all wrote
for faasctl/state/models.py at 3fec072 (the first single-file build), and a few rows
of every table, asynchronous calls among them. Written here as SQL, so the tests do not
depend on any code of faasctl to make the old file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

DDL = """
CREATE TABLE node ( name VARCHAR NOT NULL, kind VARCHAR NOT NULL, host VARCHAR NOT NULL, port INTEGER NOT NULL,
    user VARCHAR NOT NULL, key_path VARCHAR NOT NULL, labels VARCHAR NOT NULL, agent_home VARCHAR NOT NULL,
    zmq_endpoint VARCHAR NOT NULL, http_port INTEGER NOT NULL, server_key VARCHAR NOT NULL,
    agent_version VARCHAR NOT NULL, defaults VARCHAR NOT NULL, added_at FLOAT NOT NULL, PRIMARY KEY (name) );
CREATE TABLE runtime ( name VARCHAR NOT NULL, image VARCHAR NOT NULL, path VARCHAR NOT NULL,
    dependencies VARCHAR NOT NULL, run VARCHAR NOT NULL, handler VARCHAR NOT NULL, stem_cells INTEGER,
    source_digest VARCHAR NOT NULL, base VARCHAR NOT NULL, offline_base VARCHAR NOT NULL,
    created_at FLOAT NOT NULL, PRIMARY KEY (name) );
CREATE TABLE function_version ( id INTEGER NOT NULL, function_name VARCHAR NOT NULL, version INTEGER NOT NULL,
    digest VARCHAR NOT NULL, filename VARCHAR NOT NULL, size INTEGER NOT NULL, created_at FLOAT NOT NULL,
    PRIMARY KEY (id), UNIQUE (function_name, version) );
CREATE INDEX ix_function_version_function_name ON function_version (function_name);
CREATE TABLE deployment ( function_name VARCHAR NOT NULL, node_name VARCHAR NOT NULL, digest VARCHAR NOT NULL,
    version INTEGER NOT NULL, deployed_at FLOAT NOT NULL, PRIMARY KEY (function_name, node_name) );
CREATE TABLE call ( call_num INTEGER NOT NULL, uid VARCHAR NOT NULL, func_name VARCHAR NOT NULL,
    version INTEGER NOT NULL, params VARCHAR NOT NULL, status VARCHAR NOT NULL, result VARCHAR NOT NULL,
    error VARCHAR NOT NULL, log VARCHAR NOT NULL, node VARCHAR NOT NULL, start_kind VARCHAR NOT NULL,
    queue_ms FLOAT, start_ms FLOAT, run_ms FLOAT, is_async BOOLEAN NOT NULL, created_at FLOAT NOT NULL,
    finished_at FLOAT, PRIMARY KEY (call_num) );
CREATE INDEX ix_call_func_name ON call (func_name);
CREATE UNIQUE INDEX ix_call_uid ON call (uid);
CREATE INDEX ix_call_status ON call (status);
CREATE TABLE function ( name VARCHAR NOT NULL, runtime_name VARCHAR NOT NULL, version INTEGER NOT NULL,
    digest VARCHAR NOT NULL, mode VARCHAR NOT NULL, handler VARCHAR NOT NULL, policy VARCHAR NOT NULL,
    placement VARCHAR NOT NULL, pinned VARCHAR NOT NULL, created_at FLOAT NOT NULL, updated_at FLOAT NOT NULL,
    PRIMARY KEY (name), FOREIGN KEY(runtime_name) REFERENCES runtime (name) );
"""

D1, D2, S1 = "1" * 64, "2" * 64, "3" * 64
NODES = [
    ("n1", "ssh", "10.0.0.1", 22, "ops", "/k/id", json.dumps({"zone": "eu"}), "/srv/faasctl",
     "tcp://10.0.0.1:7701", 7702, "Z" * 40, "0.1.0", json.dumps({"preload": "none"}), 1.5),
    ("n2", "local", "", 22, "", "", "{}", "/var/lib/faasctl", "tcp://127.0.0.1:7701", 0, "Y" * 40, "0.1.0", "{}", 2.5),
]
RUNTIMES = [("python", "faasctl/rt-python:abc", "/ws", "pip3 install -r requirements.txt", "python3 main.py", "",
             None, "abc", "python:3.11-slim", "", 3.25),
            ("custom", "me/img:1", "/app", "", "", "", 2, "", "", "", 4.0)]
FUNCTIONS = [("dice", "python", 2, D2, "command", "", json.dumps({"timeout": 5.0}), "round-robin", "[]", 5.0, 6.0),
             ("sizes", "custom", 1, S1, "handler", "main:handle", "{}", "warm-first", json.dumps(["zone=eu"]),
              7.0, 7.0)]
VERSIONS = [(1, "dice", 1, D1, "dice.tar", 100, 5.0), (2, "dice", 2, D2, "dice.tar", 120, 6.0),
            (3, "sizes", 1, S1, "sizes.tar", 300, 7.0)]
DEPLOYMENTS = [("dice", "n1", D2, 2, 6.1), ("dice", "n2", D1, 1, 5.1), ("sizes", "n1", S1, 1, 7.1)]
STATUSES = ("DONE", "DONE", "FAILED", "PENDING", "RUNNING", "LOST", "TIMEOUT")


def calls(n: int = 40) -> list[tuple[object, ...]]:
    """n calls over both functions, every status, one in three asynchronous."""
    rows = []
    for i in range(1, n + 1):
        status = STATUSES[i % len(STATUSES)]
        done = status not in ("PENDING", "RUNNING")
        rows.append((i, f"uid-{i:04d}", "dice" if i % 3 else "sizes", 1 + i % 2, json.dumps({"i": i}), status,
                     json.dumps(i) if status == "DONE" else "", "boom" if status == "FAILED" else "",
                     f"log {i}", "n1" if i % 2 else "n2", "warm" if i % 4 else "cold",
                     0.5 if done else None, 1.25 if done else None, 3.0 + i if done else None,
                     i % 3 == 0, 100.0 + i, 101.0 + i if done else None))
    return rows


def make(path: Path, n_calls: int = 40) -> None:
    """A first-release state file at `path`, filled."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(DDL)
    for table, rows in (("node", NODES), ("runtime", RUNTIMES), ("function", FUNCTIONS),
                        ("function_version", VERSIONS), ("deployment", DEPLOYMENTS), ("call", calls(n_calls))):
        conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    conn.commit()
    conn.close()
    path.chmod(0o600)
