"""The bootstrap probe and install (faasctl_agent.probe / .install), as the node runs them:
their source sent to a bare python3 with `-c`, against files in a tmp folder."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from faasctl_agent import install

from faasctl.core.bootstrap_ssh import install_plan, probe_step, script


def run_probe(home: Path, client: str) -> dict[str, object]:
    step = probe_step(str(home), client)
    assert step.argv[:3] == ("python3", "-c", script("probe"))
    # -I: no site-packages and no faasctl_agent on the path, as on a node before the install
    proc = subprocess.run([sys.executable, "-I", *step.argv[1:]], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    found: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


def test_probe_of_an_empty_home_creates_it_and_finds_nothing_of_ours(tmp_path: Path) -> None:
    home = tmp_path / "agent"
    found = run_probe(home, "k" * 40)
    assert home.is_dir() and found["home"] == str(home)
    assert found["python"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert (found["build"], found["config"], found["server_key"]) == ("", "", "")
    assert found["authorized"] is False and found["healthy"] is False
    assert "python" not in found["fail"] and "home" not in found["fail"]  # type: ignore[operator]


def test_probe_reads_the_installed_build_keys_and_config(tmp_path: Path) -> None:
    home = tmp_path / "agent"
    (home / "venv").mkdir(parents=True)
    (home / "venv" / ".faasctl-build").write_text("0.2.0-abc\n")
    (home / "keys" / "authorized").mkdir(parents=True)
    (home / "keys" / "server.key").write_text('metadata\ncurve\n    public-key = "SERVERKEY"\n')
    client = "c" * 40
    (home / "keys" / "authorized" / "operator.key").write_text(f'curve\n    public-key = "{client}"\n')
    (home / "agent.json").write_text(json.dumps({"http_port": 1, "zmq_endpoint": "tcp://127.0.0.1:2"}))
    found = run_probe(home, client)
    assert (found["build"], found["server_key"], found["authorized"]) == ("0.2.0-abc", "SERVERKEY", True)
    assert json.loads(str(found["config"]))["http_port"] == 1
    assert found["healthy"] is False  # nothing listens on port 1
    assert run_probe(home, "d" * 40)["authorized"] is False


def test_install_unpacks_wheels_with_their_data_folders(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("demo/__init__.py", "VALUE = 1\n")
        z.writestr("demo-1.0.data/purelib/extra_mod.py", "X = 2\n")
        z.writestr("demo-1.0.data/platlib/native_mod.py", "Y = 3\n")
    site = tmp_path / "site"
    site.mkdir()
    install.unpack([str(wheel)], str(site))
    assert sorted(p.name for p in site.iterdir()) == ["demo", "extra_mod.py", "native_mod.py"]
    assert (site / "demo" / "__init__.py").read_text() == "VALUE = 1\n"


def test_install_keeps_only_the_current_builds_wheels(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    for build in ("old", "new"):
        (wheels / build).mkdir(parents=True)
        (wheels / build / "x.whl").write_bytes(b"")
    (wheels / "loose-0.1.whl").write_bytes(b"")  # pre-0.2 layout
    install.prune(str(wheels), "new")
    assert [p.name for p in wheels.iterdir()] == ["new"]


def test_install_without_wheels_fails_and_keeps_the_venv(tmp_path: Path) -> None:
    home = tmp_path / "agent"
    (home / "venv").mkdir(parents=True)
    (home / "venv" / "marker").write_text("")
    step = install_plan(str(home), "b1")[0]
    proc = subprocess.run([sys.executable, "-I", *step.argv[1:]], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and f"no wheels in {home}/wheels/b1" in proc.stderr
    assert (home / "venv" / "marker").exists()
