"""A Z85 key may begin with "-" (about 1 key in 90): the authorise step must still pass it.

Runs the plan's real `faasctl-agent authorize` command with such a key; argparse took
`--key -abc...` for an option and the bootstrap failed with "expected one argument"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import zmq

from faasctl.core import bootstrap


def test_authorise_step_passes_a_key_that_begins_with_a_dash(tmp_path: Path) -> None:
    public = next(k for k, _ in iter(zmq.curve_keypair, None) if k.startswith(b"-")).decode()
    home = str(tmp_path / "agent")
    steps = bootstrap.configure_plan(sys.executable, home, "n1", "tcp://127.0.0.1:1", 2, public, {})
    step = next(s for s in steps if s.title == "authorise operator")
    subprocess.run([sys.executable, "-m", "faasctl_agent", "init", "--home", home, "--name", "n1",
                    "--zmq", "tcp://127.0.0.1:1", "--http-port", "2"], check=True, capture_output=True)
    done = subprocess.run(list(step.argv), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert public in (tmp_path / "agent" / "keys" / "authorized" / "operator.key").read_text()
