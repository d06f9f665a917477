"""`faasctl dashboard` in a real terminal (tmux): it starts, draws, and quits with exit 0
on `q` and on Ctrl-C, with the terminal left to the shell.

A private tmux server (-L) keeps the test away from any other tmux session. Waits are
bounded loops on what the pane shows or on the exit status file.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.platform import REPO, Platform

pytestmark = pytest.mark.integration

FAASCTL = Path(sys.executable).parent / "faasctl"
STEPS, STEP = 300, 0.1  # at most 30 s for each wait


@pytest.fixture
def tmux() -> Iterator[list[str]]:
    base = ["tmux", "-L", f"faasctl-dash-{os.getpid()}", "-f", "/dev/null"]
    yield base
    subprocess.run([*base, "kill-server"], capture_output=True)


def wait(check: object, what: str) -> None:
    for _ in range(STEPS):
        if check():  # type: ignore[operator]
            return
        time.sleep(STEP)
    raise AssertionError(f"never happened: {what}")


def wait_drawn(check: object, what: str, screen: dict[str, str]) -> None:
    try:
        wait(check, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the pane showed:\n{screen['text']}") from None


def run_dashboard(tmux: list[str], home: Path, tmp: Path, quit_keys: str, expect: str) -> tuple[str, str]:
    """Start it in a 100x30 pane, wait until it drew `expect` (its first refresh), send `quit_keys`;
    the pane's text and the exit status."""
    rc = tmp / f"rc-{quit_keys}"  # (textual draws on stderr: it stays on the pane)
    command = (f"cd {shlex.quote(str(REPO))} && FAASCTL_HOME={shlex.quote(str(home))} "
               f"{shlex.quote(str(FAASCTL))} dashboard; echo $? > {shlex.quote(str(rc))}")
    session = f"dash-{quit_keys}"
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "100", "-y", "30", command], check=True)
    screen = {"text": ""}

    def drawn() -> bool:
        out = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True)
        screen["text"] = out.stdout
        return "faasctl dashboard" in out.stdout and "Quit" in out.stdout and expect in out.stdout

    wait_drawn(drawn, "the dashboard drawn", screen)
    subprocess.run([*tmux, "send-keys", "-t", session, quit_keys], check=True)
    wait(rc.exists, f"the dashboard to exit after {quit_keys}")
    wait(lambda: rc.read_text().strip() != "", "its exit status written")
    return screen["text"], rc.read_text().strip()


def test_draws_the_local_node_and_quits_on_q(platform: Platform, tmux: list[str], tmp_path: Path) -> None:
    screen, status = run_dashboard(tmux, platform.home, tmp_path, "q", " local ")
    assert "1 Nodes" in screen and " up " in screen
    assert status == "0"


def test_draws_an_empty_state_and_quits_on_ctrl_c(tmux: list[str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    screen, status = run_dashboard(tmux, home, tmp_path, "C-c", "0 nodes, 0 functions")
    assert "1 Nodes" in screen
    assert status == "0"
