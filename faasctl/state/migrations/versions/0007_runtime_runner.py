"""runtime.runner: which in-container runner serves the runtime (e4ee7af, issue 13).
Every runtime made before it ran the Python runner: the default says so.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from faasctl.state.migrations import steps
from faasctl.state.migrations.steps import text

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.add_column("runtime", text("runner", "python"))
