"""Shared fixtures. Integration tests use the real Docker engine, sshd and rsync that
scripts/setup.sh installs; they fail (never skip) when the engine is missing, so a
broken CI machine cannot pass by running nothing."""

from __future__ import annotations

import os

# testcontainers reads these once, at import: set them before anything imports it.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
os.environ.setdefault("TC_HOST", "127.0.0.1")

pytest_plugins = ["tests.support.fixtures", "tests.support.platform"]
