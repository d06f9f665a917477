"""node_health: suspect nodes, shared by every faasctl process (036822b).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa

from faasctl.state.migrations import steps
from faasctl.state.migrations.steps import integer, real, text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.create_table("node_health", text("node"), integer("failures"), real("down_since"), text("last_error"),
                       real("last_failed_at"), real("skip_until"), real("probing_until"),
                       sa.PrimaryKeyConstraint("node"))
