"""state/pg.py, the adapter the raw-SQL code uses on PostgreSQL: the statement
translation (pure), rows as sqlite3.Row reads them, errors as sqlite3's, the write lock,
and a connection that outlives the server ending its session. A real server throughout
(tests/support/pgserver.py), except for the translation itself."""

from __future__ import annotations

import sqlite3

import pytest

from faasctl.state import pg


def test_statements_are_translated_once_and_only_where_needed() -> None:
    assert pg.translate("SELECT * FROM node WHERE name=? AND port=?") == (
        "SELECT * FROM node WHERE name=%s AND port=%s",)
    assert pg.translate("SELECT node_name FROM deployment WHERE function_name=:f AND digest=:d") == (
        "SELECT node_name FROM deployment WHERE function_name=%(f)s AND digest=%(d)s",)
    assert pg.translate("SELECT '50%' WHERE x LIKE 'a%'") == ("SELECT '50%%' WHERE x LIKE 'a%%'",)
    assert pg.translate("SELECT x::text, '12:30' FROM t") == ("SELECT x::text, '12:30' FROM t",)  # no binds
    assert pg.translate("BEGIN IMMEDIATE") == (f"BEGIN; SELECT pg_advisory_xact_lock({pg.WRITE_LOCK})",)
    assert pg.translate("BEGIN") == ("BEGIN ISOLATION LEVEL REPEATABLE READ",)
    assert pg.translate("INSERT INTO call (uid) VALUES (?)") == (
        "INSERT INTO call (uid) VALUES (%s) RETURNING call_num",)
    assert pg.translate("INSERT INTO node_health (node) VALUES (?)") == ("INSERT INTO node_health (node) VALUES (%s)",)


def test_urls() -> None:
    assert pg.sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert pg.conninfo("postgresql+psycopg://u:pw@h:5/db") == "postgresql://u:pw@h:5/db"
    assert pg.redact("postgresql+psycopg://u:pw@h:5/db") == "postgresql+psycopg://u:***@h:5/db"
    with pytest.raises(pg.StateError, match="driver 'psycopg2' is not supported"):
        pg.conninfo("postgresql+psycopg2://u@h/db")


def test_rows_lastrowid_and_errors_as_sqlite3s(pg_url: str) -> None:
    conn = pg.connect(pg_url)
    conn.execute("CREATE TABLE call (call_num SERIAL PRIMARY KEY, uid VARCHAR UNIQUE NOT NULL, n INTEGER)")
    assert conn.execute("INSERT INTO call (uid, n) VALUES (?, ?)", ("a", 1)).lastrowid == 1
    assert conn.execute("INSERT INTO call (uid, n) VALUES (:u, :n)", {"u": "b", "n": 2}).lastrowid == 2
    row = conn.execute("SELECT uid, n FROM call WHERE call_num = ?", (2,)).fetchone()
    assert (row[0], row["n"], dict(row), tuple(row)) == ("b", 2, {"uid": "b", "n": 2}, ("b", 2))
    assert [r["uid"] for r in conn.execute("SELECT uid FROM call ORDER BY uid")] == ["a", "b"]
    assert conn.execute("UPDATE call SET n = n + 1").rowcount == 2
    with pytest.raises(sqlite3.IntegrityError, match="unique"):
        conn.execute("INSERT INTO call (uid, n) VALUES (?, ?)", ("a", 3))
    with pytest.raises(sqlite3.OperationalError, match="^no such table: nothing$"):
        conn.execute("SELECT * FROM nothing")
    assert not conn.in_transaction


def test_a_session_the_server_ends_is_opened_again(pg_url: str) -> None:
    conn, admin = pg.connect(pg_url), pg.connect(pg_url)
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    admin.execute("SELECT pg_terminate_backend(?)", (pid,))  # as a server restart would
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("SELECT 1")  # the statement that meets the end fails, and says so
    assert not conn.in_transaction
    assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] != pid  # the next one runs on a new session
