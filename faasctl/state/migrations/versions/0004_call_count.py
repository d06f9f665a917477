"""call_count and its triggers: calls per function and status without a scan (10bc521).
The counts are recomputed from `call` here, in the upgrade's transaction.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from faasctl.state import aggregates
from faasctl.state.migrations import steps
from faasctl.state.migrations.steps import integer, text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.create_table("call_count", text("func_name"), text("status"),
                       integer("n"), sa.PrimaryKeyConstraint("func_name", "status"))
    aggregates.install(op.execute, op.get_bind().dialect.name)
