"""The first release's schema: the tables of the first single-file build (3fec072).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa

from faasctl.state.migrations import steps
from faasctl.state.migrations.steps import integer, real, text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.create_table(
        "node", text("name"), text("kind"), text("host"), integer("port"), text("user"), text("key_path"),
        text("labels"), text("agent_home"), text("zmq_endpoint"), integer("http_port"), text("server_key"),
        text("agent_version"), text("defaults"), real("added_at"), sa.PrimaryKeyConstraint("name"))
    steps.create_table(
        "runtime", text("name"), text("image"), text("path"), text("dependencies"), text("run"), text("handler"),
        integer("stem_cells", True), text("source_digest"), text("base"),
        text("offline_base"), real("created_at"), sa.PrimaryKeyConstraint("name"))
    steps.create_table(
        "function_version", integer("id"), text("function_name"), integer("version"), text("digest"), text("filename"),
        integer("size"), real("created_at"), sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("function_name", "version"),
        indexes=(("ix_function_version_function_name", ("function_name",), False),))
    steps.create_table(
        "deployment", text("function_name"), text("node_name"), text("digest"), integer("version"),
        real("deployed_at"), sa.PrimaryKeyConstraint("function_name", "node_name"))
    steps.create_table(
        "call", integer("call_num"), text("uid"), text("func_name"), integer("version"), text("params"), text("status"),
        text("result"), text("error"), text("log"), text("node"), text("start_kind"), real("queue_ms", True),
        real("start_ms", True), real("run_ms", True), sa.Column("is_async", sa.Boolean(), nullable=False),
        real("created_at"), real("finished_at", True), sa.PrimaryKeyConstraint("call_num"),
        indexes=(("ix_call_func_name", ("func_name",), False), ("ix_call_uid", ("uid",), True),
                 ("ix_call_status", ("status",), False)))
    steps.create_table(
        "function", text("name"), text("runtime_name"), integer("version"), text("digest"), text("mode"),
        text("handler"), text("policy"), text("placement"), text("pinned"), real("created_at"),
        real("updated_at"), sa.PrimaryKeyConstraint("name"),
        sa.ForeignKeyConstraint(["runtime_name"], ["runtime.name"]))
