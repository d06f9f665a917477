"""Alembic's migrations of the state file (env.py, versions/), run by state/migrate.py.

How to add one: docs/design.md, "State migrations"."""
