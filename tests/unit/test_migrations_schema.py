"""The migrations against the models: the revision list the plain-sqlite3 check uses is
Alembic's, and a file migrated from the first release (or from nothing) ends with the
schema a new file gets: the same tables, columns (type, NOT NULL, default, key), indexes,
foreign keys and triggers. Column order may differ: an added column comes last, and
every reader names its columns."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory

from faasctl.state import engines, migrate, revision
from faasctl.state.db import open_engine
from tests.support import first_release


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(migrate.LOCATION))
    return ScriptDirectory.from_config(config)


def schema(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    tables = [str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    out: dict[str, Any] = {}
    for table in tables:
        columns = {r[1]: (r[2], r[3], r[4], r[5]) for r in conn.execute(f"PRAGMA table_info({table})")}
        indexes = {r[1]: (r[2], r[3], tuple(c[2] for c in conn.execute(f"PRAGMA index_info('{r[1]}')")))
                   for r in conn.execute(f"PRAGMA index_list({table})")}
        keys = sorted(tuple(r[2:5]) for r in conn.execute(f"PRAGMA foreign_key_list({table})"))
        out[table] = {"columns": columns, "indexes": indexes, "foreign_keys": keys}
    out["triggers"] = {name: " ".join(sql.split())
                       for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")}
    conn.close()
    return out


def test_the_revision_list_is_alembics() -> None:
    script = _script()
    assert script.get_current_head() == revision.HEAD
    oldest_first = [s.revision for s in reversed(list(script.walk_revisions()))]
    assert oldest_first == list(revision.REVISIONS)


def test_first_release_migrated_equals_a_new_file(tmp_path: Path) -> None:
    fresh, old = tmp_path / "new" / "state.db", tmp_path / "old" / "state.db"
    open_engine(fresh).dispose()
    first_release.make(old)
    open_engine(old).dispose()
    made, migrated = schema(fresh), schema(old)
    assert set(made) == set(migrated)
    for table in made:
        assert migrated[table] == made[table], table
    assert set(made["triggers"]) == {"call_count_insert", "call_count_update", "call_count_delete"}
    assert made["call"]["indexes"]["ix_call_uid"][:2] == (1, "c")  # unique, made by CREATE INDEX
    assert made["runtime"]["columns"]["runner"] == ("VARCHAR", 1, "'python'", 0)


def test_every_migration_from_nothing_ends_at_the_same_schema(tmp_path: Path) -> None:
    fresh, built = tmp_path / "new" / "state.db", tmp_path / "built.db"
    open_engine(fresh).dispose()
    engine = engines.make_engine(built)
    with engine.connect() as conn, conn.begin():
        migrate._alembic(conn)
    engine.dispose()
    assert schema(built) == schema(fresh)


def test_detect_names_the_last_revision_a_file_has_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first_release.make(path)
    conn = sqlite3.connect(path)
    assert revision.detect(conn) == "0001"
    conn.execute("CREATE TABLE node_health (node VARCHAR PRIMARY KEY)")
    assert revision.detect(conn) == "0002"
    conn.execute("CREATE TABLE function_config (x)")  # a later change without 0003 before it
    assert revision.detect(conn) == "0002"
    assert revision.detect(sqlite3.connect(tmp_path / "empty.db")) is None


def test_an_unstamped_file_with_later_changes_but_not_an_earlier_one(tmp_path: Path) -> None:
    """A file from a branch that had the kinds and versions but not function_config: it is
    stamped 0004, and the steps after add only what it lacks."""
    fresh, odd = tmp_path / "new" / "state.db", tmp_path / "odd" / "state.db"
    open_engine(fresh).dispose()
    open_engine(odd).dispose()
    conn = sqlite3.connect(odd)
    conn.executescript("DROP TABLE function_config; DROP TABLE alembic_version;")
    assert revision.detect(conn) == "0004"
    conn.close()
    open_engine(odd).dispose()
    assert schema(odd) == schema(fresh)
    assert [p.name.split("-")[1] for p in odd.parent.glob("state.db.backup-*")] == ["0004"]
