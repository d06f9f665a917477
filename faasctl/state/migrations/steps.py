"""Guarded Alembic operations the migrations are written with.

A file stamped with a revision has exactly that revision's schema, but a file made before
the migrations is only recognised (revision.detect) up to the first change it lacks, and
the branches that added tables and columns merged in varying order; so each step adds
only what is missing. Batch mode keeps them portable (on SQLite an added column is a
plain ALTER TABLE; a change SQLite cannot alter in place gets a table copy).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


def _inspector() -> Any:
    return sa.inspect(op.get_bind())


def create_table(name: str, *columns: Any, indexes: tuple[tuple[str, tuple[str, ...], bool], ...] = ()) -> None:
    """The table with its (name, columns, unique) indexes, unless the file has it already."""
    if _inspector().has_table(name):
        return
    op.create_table(name, *columns)
    for index, cols, unique in indexes:
        op.create_index(index, name, list(cols), unique=unique)


def add_column(table: str, column: sa.Column[Any], backfill: str = "") -> None:
    """The column, then `backfill` (SQL) once, unless the table has the column already."""
    if column.name in {c["name"] for c in _inspector().get_columns(table)}:
        return
    with op.batch_alter_table(table) as batch:
        batch.add_column(column)
    if backfill:
        op.execute(backfill)


def text(name: str, default: str | None = None) -> sa.Column[Any]:
    """A NOT NULL VARCHAR, as sqlmodel declares a `str` field."""
    return sa.Column(name, sa.String(), nullable=False, server_default=default)


def integer(name: str, nullable: bool = False, default: str | None = None) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=nullable, server_default=default)


def real(name: str, nullable: bool = False) -> sa.Column[Any]:
    """A FLOAT, as sqlmodel declares a `float` field."""
    return sa.Column(name, sa.Float(), nullable=nullable)
