"""The `backend` fixture (tests/support/backends.py): the state suite on SQLite and PostgreSQL."""

from tests.support.backends import backend  # noqa: F401  (a fixture, used by name)
