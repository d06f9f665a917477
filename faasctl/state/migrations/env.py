"""Alembic's environment: always online, on the connection migrate.py hands over inside its
write transaction (config.attributes["connection"]), so Alembic opens no transaction of
its own and a failed step rolls the whole upgrade back."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from faasctl.state import models  # noqa: F401  (registers the tables: target_metadata for autogenerate)

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("faasctl's migrations run through faasctl.state.migrate.upgrade, on an open connection")
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
