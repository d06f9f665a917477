"""The migrations on PostgreSQL (a real server: tests/support/pgserver.py).

A new database is made at the head from the models, as a new file is; the same Alembic
revisions run from nothing must end at the same schema (tables, columns with type,
NOT NULL and default, keys, indexes, unique constraints, triggers). A database stamped
by a newer faasctl is refused with exit 11, a database holding other tables is not
taken over, and a bad URL or a server that refuses gives one line and a hint."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from faasctl.errors import StateError
from faasctl.state import engines, migrate, pg, revision
from faasctl.state.db import open_engine
from tests.support.pgserver import PgServer


def schema(url: str) -> dict[str, Any]:
    engine = sa.create_engine(pg.sqlalchemy_url(url))
    try:
        inspector = sa.inspect(engine)
        out: dict[str, Any] = {}
        for table in inspector.get_table_names():
            out[table] = {
                "columns": {c["name"]: (str(c["type"]), c["nullable"], c["default"]) for c in
                            inspector.get_columns(table)},
                "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                  for i in inspector.get_indexes(table)),
                "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
                "foreign_keys": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                                        tuple(f["referred_columns"])) for f in inspector.get_foreign_keys(table)),
            }
        with engine.connect() as conn:
            out["triggers"] = sorted(tuple(r) for r in conn.exec_driver_sql(
                "SELECT trigger_name, event_manipulation, action_timing, action_condition, action_statement "
                "FROM information_schema.triggers"))
        return out
    finally:
        engine.dispose()


def test_every_migration_from_nothing_ends_where_a_new_database_starts(pg_server: PgServer,
                                                                       tmp_path: Path) -> None:
    made, built = pg_server.database(), pg_server.database()
    open_engine(tmp_path / "state.db", made).dispose()  # a new database: create_all at the head
    engine = engines.make_engine(tmp_path / "state.db", built)
    with engine.connect() as conn, conn.begin():
        migrate._alembic(conn)  # 0001 to the head, every step on PostgreSQL
    engine.dispose()
    new, migrated = schema(made), schema(built)
    assert set(new) == set(migrated)
    for table in new:
        assert migrated[table] == new[table], table
    assert {t[0] for t in new["triggers"]} == {"call_count_insert", "call_count_update", "call_count_delete"}
    assert ("ix_call_uid", ("uid",), True) in new["call"]["indexes"]
    assert new["call"]["columns"]["call_num"][2].startswith("nextval(")  # a sequence: unique across processes


def _open(url: str, home: str, start: Any) -> None:
    start.wait(30)
    open_engine(Path(home) / "state.db", url).dispose()


def test_two_processes_opening_an_empty_database_make_it_once(pg_url: str, tmp_path: Path) -> None:
    spawn = mp.get_context("spawn")
    start = spawn.Event()
    procs = [spawn.Process(target=_open, args=(pg_url, str(tmp_path), start)) for _ in range(3)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    conn = pg.connect(pg_url)
    assert [tuple(r) for r in conn.execute("SELECT version_num FROM alembic_version")] == [(revision.HEAD,)]


def faasctl(home: Path, *args: str, url: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAASCTL_HOME": str(home)}
    env.pop("FAASCTL_STATE_URL", None)
    if url:
        env["FAASCTL_STATE_URL"] = url
    return subprocess.run([sys.executable, "-m", "faasctl", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_a_database_from_a_newer_faasctl_is_refused(pg_url: str, tmp_path: Path) -> None:
    open_engine(tmp_path / "state.db", pg_url).dispose()
    conn = pg.connect(pg_url)
    conn.execute("UPDATE alembic_version SET version_num = '0999'")
    for args in (("fn", "list"), ("invoke", "dice"), ("fn", "rm", "dice")):
        refused = faasctl(tmp_path, *args, url=pg_url)
        assert refused.returncode == 11, (args, refused.stderr)
        lines = refused.stderr.strip().splitlines()
        assert lines[0] == (f"error: state database {pg_url} was made by a newer faasctl (revision 0999); "
                            f"this one knows revisions up to {revision.HEAD}"), args
        assert "upgrade faasctl" in lines[1]
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0999"
    with pytest.raises(StateError, match="newer faasctl"):
        open_engine(tmp_path / "state.db", pg_url)
    assert not (tmp_path / "state.db").exists()  # nothing of the state goes to the home's file


def test_a_database_with_other_tables_is_not_taken_over(pg_url: str, tmp_path: Path) -> None:
    pg.connect(pg_url).execute("CREATE TABLE orders (n integer)")
    with pytest.raises(StateError, match="has tables but no faasctl revision") as caught:
        open_engine(tmp_path / "state.db", pg_url)
    assert "CREATE DATABASE" in caught.value.hint


def test_the_global_option_and_bad_urls(pg_url: str, tmp_path: Path) -> None:
    listed = faasctl(tmp_path, "--state-url", pg_url, "fn", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "[]"
    assert pg.connect(pg_url).execute("SELECT version_num FROM alembic_version").fetchone()[0] == revision.HEAD
    assert not (tmp_path / "state.db").exists()

    bad = faasctl(tmp_path, "--state-url", "mysql://u@h/db", "fn", "list")
    assert bad.returncode == 11 and bad.stderr.splitlines()[0] == (
        "error: state URL 'mysql://u@h/db' is not a PostgreSQL URL"), bad.stderr
    assert bad.stderr.splitlines()[1].startswith("hint: use postgresql+psycopg://")

    port = pg_url.rsplit(":", 1)[1].split("/")[0]
    gone = pg_url.replace(f":{port}/", ":1/").replace("faasctl@", "faasctl:secret@")
    refused = faasctl(tmp_path, "fn", "list", url=gone)
    assert refused.returncode == 11, refused.stderr
    first, hint = refused.stderr.strip().splitlines()
    assert first.startswith("error: cannot open the state database postgresql+psycopg://faasctl:***@127.0.0.1:1/")
    assert "secret" not in refused.stderr and hint.startswith("hint: check that the server runs")


def test_a_missing_driver_is_one_line_with_the_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """As on a machine without psycopg (the import fails; nothing else is replaced)."""
    monkeypatch.setitem(sys.modules, "psycopg", None)
    for attempt in (lambda: pg.connect("postgresql+psycopg://u@127.0.0.1/db"),
                    lambda: open_engine(tmp_path / "state.db", "postgresql+psycopg://u@127.0.0.1/db")):
        with pytest.raises(StateError, match=r"^the PostgreSQL driver \(psycopg 3\) is not installed$") as caught:
            attempt()
        assert "pip install 'faasctl[postgres]'" in caught.value.hint
