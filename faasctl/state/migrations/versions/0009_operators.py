"""Operators (issue 15): the keys every node accepts, and the set each node confirmed.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa

from faasctl.state.migrations import steps
from faasctl.state.migrations.steps import real, text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.create_table(
        "operator", text("name"), text("public_key"), real("added_at"),
        sa.PrimaryKeyConstraint("name"), sa.UniqueConstraint("public_key"))
    steps.create_table(
        "node_operators", text("node_name"), text("keys"), real("synced_at"),
        sa.PrimaryKeyConstraint("node_name"))
