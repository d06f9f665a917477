"""Rows of the state file as the ORM's model_dump would give them, read with plain sqlite3.

The read-only commands (`fn list`, `runtime list`, `call list`, `call get`) use this so
they start without importing sqlmodel and SQLAlchemy (about 0.4 s). Which columns, in
which order, which hold JSON and which are booleans comes from schema.py, generated from
models.py: the schema is written once, in the models.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from . import schema

EMPTY: dict[str, type] = {"dict": dict, "list": list}


def decode(table: str, row: Sequence[Any]) -> dict[str, Any]:
    """One row selected with `columns(table)`, as a dict with JSON and booleans decoded."""
    data = dict(zip(schema.COLUMNS[table], row))
    for column, empty in schema.JSON_EMPTY.get(table, {}).items():
        text = data[column]
        data[column] = json.loads(text) if text else EMPTY[empty]()  # as models.JSONText reads it
    for column in schema.BOOLEAN.get(table, ()):
        if data[column] is not None:
            data[column] = bool(data[column])
    return data


def columns(table: str) -> str:
    """Quoted: `user` is a column of `node` and, unquoted, PostgreSQL's current user."""
    return ", ".join(f'"{c}"' for c in schema.COLUMNS[table])


def select(conn: sqlite3.Connection, table: str, where: str = "", params: Sequence[Any] = (), order: str = "",
           limit: int | None = None) -> list[dict[str, Any]]:
    """Whole rows of `table`; `where` and `order` are SQL written by the caller, values go in `params`."""
    sql = f"SELECT {columns(table)} FROM {table}"
    if where:
        sql += f" WHERE {where}"
    if order:
        sql += f" ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT ?"
        params = (*params, limit)
    return [decode(table, tuple(row)) for row in conn.execute(sql, tuple(params))]


def newest_calls(conn: sqlite3.Connection, names: Sequence[str], function: str = "", status: str = "",
                 limit: int | None = None) -> list[tuple[Any, ...]]:
    """Columns `names` of the newest calls (of `function`, in `status`, when given), newest
    first, as plain tuples: a page of calls is the API's hottest read, and building a dict
    per row here was most of its cost (core/callview.py shapes them once)."""
    known = schema.COLUMNS["call"]
    if any(name not in known for name in names):
        raise ValueError(f"not columns of call: {sorted(set(names) - set(known))}")
    sql = f"SELECT {', '.join(names)} FROM call"
    clauses: list[str] = []
    params: list[Any] = []
    if function:
        clauses.append("func_name = ?")
        params.append(function)
    if status:
        clauses.append("status = ?")
        params.append(status)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY call_num DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples, whatever the connection's factory
    return cursor.execute(sql, params).fetchall()


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Several reads that see one state of the file (a deferred transaction takes no write lock)."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")
