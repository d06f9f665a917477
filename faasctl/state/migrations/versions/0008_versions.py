"""Versions (6e3bec3, issue 14): a version row keeps what a rollback needs (runtime,
handler, policy, backfilled from its function), function.keep_versions, call.alias, and
the tables function_alias and node_version.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa

from faasctl.state.migrations import steps
from faasctl.state.migrations.steps import integer, real, text

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _from_function(column: str, empty: str) -> str:
    return (f"UPDATE function_version SET {column} = COALESCE((SELECT f.{column} FROM function f "
            f"WHERE f.name = function_name), '{empty}')")


def upgrade() -> None:
    steps.add_column("function", integer("keep_versions", default="5"))
    steps.add_column("function_version", text("runtime_name", ""), _from_function("runtime_name", ""))
    steps.add_column("function_version", text("handler", ""), _from_function("handler", ""))
    steps.add_column("function_version", text("policy", "{}"), _from_function("policy", "{}"))
    steps.add_column("call", text("alias", ""))
    steps.create_table(
        "function_alias", text("function_name"), text("name"), integer("version"),
        integer("canary_version"),
        real("canary_weight"), real("updated_at"),
        sa.PrimaryKeyConstraint("function_name", "name"))
    steps.create_table(
        "node_version", text("function_name"), text("node_name"), integer("version"),
        text("digest"), real("loaded_at"),
        sa.PrimaryKeyConstraint("function_name", "node_name", "version"))
