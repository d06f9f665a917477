"""node_drain: drained nodes get no new calls (7e80a49).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa

from faasctl.state.migrations import steps
from faasctl.state.migrations.steps import real, text

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.create_table("node_drain", text("node"), real("since"),
                       sa.PrimaryKeyConstraint("node"))
