"""`faasctl dashboard` as a command: its help, its refusals, and a start that pays nothing
for textual until the dashboard runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.cli import cli
from tests.support.platform import REPO


def test_help_explains_the_views_keys_and_url(tmp_path: Path) -> None:
    out = cli("dashboard", "--help", env={**os.environ, "FAASCTL_HOME": str(tmp_path)}).stdout
    for words in ("Nodes", "Functions", "Calls", "--url", "--token-file", "FAASCTL_TOKEN", "q or Ctrl-C"):
        assert words in out


def test_refusals_are_invalid_input(tmp_path: Path) -> None:
    env = {**os.environ, "FAASCTL_HOME": str(tmp_path)}
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    token.chmod(0o644)
    for args, says in ((["--token-file", str(token)], "--token-file needs --url"),
                       (["--url", "ftp://host"], "is not an http"),
                       (["--url", "http://127.0.0.1:9", "--token-file", str(token)], "readable by other users")):
        proc = cli("dashboard", *args, env=env, check=False)
        assert proc.returncode == 2 and says in proc.stderr, (args, proc.stderr)


def test_the_cli_imports_no_textual() -> None:
    code = ("import sys, faasctl.cli.main\n"
            "print(sorted(m for m in sys.modules if m.startswith(('textual', 'faasctl.dashboard'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
