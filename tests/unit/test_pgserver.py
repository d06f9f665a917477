"""The test PostgreSQL itself: real, loopback only, one fresh database per request."""

from __future__ import annotations

import psycopg

from tests.support.pgserver import PgServer


def test_databases_are_fresh_and_separate(pg_server: PgServer, pg_url: str) -> None:
    other = pg_server.database()
    assert other != pg_url and pg_url.startswith("postgresql+psycopg://faasctl@127.0.0.1:")
    first = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_server.dsn(first)) as conn:
        conn.execute("CREATE TABLE marker (n integer)")
        conn.execute("INSERT INTO marker VALUES (1)")
    with psycopg.connect(pg_server.dsn(first)) as conn:
        assert conn.execute("SELECT n FROM marker").fetchall() == [(1,)]
    with psycopg.connect(pg_server.dsn(other.rsplit("/", 1)[1])) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'marker'").fetchone()
        assert row == (0,)
        listen = conn.execute("SHOW listen_addresses").fetchone()
        assert listen == ("127.0.0.1",)
