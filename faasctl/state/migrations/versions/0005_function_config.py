"""function_config: a version's environment and secret names (2b6d291, issue 13).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa

from faasctl.state.migrations import steps
from faasctl.state.migrations.steps import integer, text

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.create_table("function_config", text("function_name"), integer("version"),
                       text("env"), text("secrets"), sa.PrimaryKeyConstraint("function_name", "version"))
