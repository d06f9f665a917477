"""function.kind and function_version.kind: the calling contract (f2b2106, issue 13).
A function deployed in handler mode was a native handler; a version takes its function's
kind when it is the current one, else stays a command.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from faasctl.state.migrations import steps
from faasctl.state.migrations.steps import text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.add_column("function", text("kind", "command"), "UPDATE function SET kind = 'native' WHERE mode = 'handler'")
    steps.add_column("function_version", text("kind", "command"),
                     "UPDATE function_version SET kind = COALESCE((SELECT f.kind FROM function f "
                     "WHERE f.name = function_name AND f.digest = function_version.digest), 'command')")
