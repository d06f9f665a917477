"""Pytest fixtures for tests needing a real SSH peer; the main conftest imports them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sshd import SSHD, SshServer, start_sshd


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    """A fresh sshd per test, so a host-key rotation cannot leak into other tests."""
    if not SSHD.exists():
        pytest.fail(f"{SSHD} not installed: run scripts/setup.sh (or apt-get install openssh-server)")
    with start_sshd(tmp_path) as server:
        yield server
