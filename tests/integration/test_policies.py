"""Issue 4 on one node: preload policies, idle timeout, concurrency cap, async durability."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.platform import Platform
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

SLEEPY = "import time\n\ndef handle(p):\n    time.sleep(float((p or {}).get('s', 1)))\n    return 'slept'\n"
TRIVIAL = "def handle(p):\n    return 'ok'\n"


def deploy(platform: Platform, tmp_path: Path, name: str, body: str, *opts: str) -> None:
    src = tmp_path / name
    src.mkdir()
    (src / "main.py").write_text(body)
    platform.cli("fn", "deploy", name, str(src), "--runtime", "python", "--handler", "main:handle", *opts)


def invoke(platform: Platform, name: str, *args: str) -> dict[str, Any]:
    proc = platform.cli("invoke", name, "--json", *args, check=False)
    return json.loads(proc.stdout) if proc.stdout else {"exit": proc.returncode, "stderr": proc.stderr}


def agent_home(platform: Platform) -> Path:
    return platform.home / "nodes" / "local"


def test_preload_none_leaves_no_container(platform: Platform, tmp_path: Path, docker: Any) -> None:
    deploy(platform, tmp_path, "once", TRIVIAL, "--preload", "none")
    assert invoke(platform, "once")["startKind"] == "cold"
    assert wait_until(lambda: platform.containers(docker, "once") == [])
    assert invoke(platform, "once")["startKind"] == "cold"


def test_preload_function_is_warm_before_first_call(platform: Platform, tmp_path: Path, docker: Any) -> None:
    deploy(platform, tmp_path, "hot", TRIVIAL, "--preload", "function", "--min-warm", "2")
    assert len([c for c in platform.containers(docker, "hot") if c["State"] == "running"]) == 2
    listed = {f["name"]: f for f in json.loads(platform.cli("fn", "list", "--json").stdout)}
    assert listed["hot"]["warm"] == {"local": 2} and listed["hot"]["policy"]["min_warm"] == 2
    assert invoke(platform, "hot")["startKind"] == "warm"


def test_preload_runtime_first_call_from_stem_cell(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, tmp_path, "stemmed", TRIVIAL, "--preload", "runtime")

    def idle_stems() -> int:
        st = json.loads(platform.cli("node", "status", "local", "--json").stdout)
        return sum(st.get("stem_cells", {}).values())

    assert wait_until(lambda: idle_stems() >= 2)
    call = invoke(platform, "stemmed")
    assert call["status"] == "DONE" and call["startKind"] == "prewarm"
    assert invoke(platform, "stemmed")["startKind"] == "warm"
    assert wait_until(lambda: idle_stems() >= 2), "the stem cell pool was not refilled"


def test_idle_timeout_removes_containers(platform: Platform, tmp_path: Path, docker: Any) -> None:
    deploy(platform, tmp_path, "brief", TRIVIAL, "--idle-timeout", "1")
    assert invoke(platform, "brief")["status"] == "DONE"
    assert platform.containers(docker, "brief")
    assert wait_until(lambda: platform.containers(docker, "brief") == [], 15)


def test_max_concurrency_holds_under_burst_and_overflow_is_busy(platform: Platform, tmp_path: Path,
                                                                docker: Any) -> None:
    deploy(platform, tmp_path, "capped", SLEEPY, "--max-concurrency", "2", "--queue-limit", "2", "--preload", "none")
    from faasctl.core.invoke import invoke as core_invoke
    from faasctl.errors import Busy

    outcomes: list[str] = []
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, len(platform.containers(docker, "capped")))
            time.sleep(0.02)

    def call() -> None:
        try:
            outcomes.append(core_invoke(platform.context(), "capped", {"s": 1.0})["status"])
        except Busy:
            outcomes.append("BUSY")

    sampler = threading.Thread(target=sample)
    sampler.start()
    callers = [threading.Thread(target=call) for _ in range(8)]
    for t in callers:
        t.start()
    for t in callers:
        t.join(120)
    stop.set()
    sampler.join(10)
    assert len(outcomes) == 8
    assert "BUSY" in outcomes and set(outcomes) <= {"DONE", "BUSY"}, outcomes
    assert outcomes.count("DONE") >= 4
    assert 1 <= peak <= 2, f"saw {peak} containers with a cap of 2"
    busy = platform.cli("invoke", "capped", check=False)
    assert busy.returncode in (0, 8)


def test_async_call_survives_an_orderly_agent_restart(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, tmp_path, "later", SLEEPY, "--max-concurrency", "1")
    running = platform.cli("invoke", "later", "--async", "--data", '{"s": 2}').stdout.strip()
    queued = platform.cli("invoke", "later", "--async", "--data", '{"s": 0.1}').stdout.strip()
    time.sleep(0.5)  # the first is inside its container, the second waits for it
    subprocess.run([sys.executable, "-m", "faasctl_agent", "stop", "--home", str(agent_home(platform))],
                   check=True, capture_output=True)
    platform.cli("node", "add", "local")  # starts it again (idempotent bootstrap)
    for num in (running, queued):
        call = json.loads(platform.cli("call", "wait", num, "--timeout", "60", "--json").stdout)
        assert call["status"] == "DONE" and call["result"] == "slept", call


def test_sigkill_during_call_is_lost_and_not_run_again(platform: Platform, tmp_path: Path, docker: Any) -> None:
    deploy(platform, tmp_path, "doomed", SLEEPY)
    num = platform.cli("invoke", "doomed", "--async", "--data", '{"s": 30}').stdout.strip()
    home = agent_home(platform)
    assert wait_until(lambda: json.loads(platform.cli("call", "get", num, "--json").stdout)["status"] == "RUNNING")
    child = int((home / "agent.child.pid").read_text())
    os.kill(child, signal.SIGKILL)  # the supervisor starts a new agent

    def finished() -> bool:
        return json.loads(platform.cli("call", "get", num, "--json", check=False).stdout or "{}").get(
            "status") == "LOST"

    assert wait_until(finished, 30)
    call = json.loads(platform.cli("call", "get", num, "--json").stdout)
    assert "not run again" in call["error"]
    time.sleep(1)
    assert platform.containers(docker, "doomed") == [], "the lost call was started again"


def test_retries_rerun_a_failing_async_call(platform: Platform, tmp_path: Path) -> None:
    deploy(platform, tmp_path, "flaky", "def handle(p):\n    raise RuntimeError('always')\n")
    num = platform.cli("invoke", "flaky", "--async", "--retries", "2").stdout.strip()
    call = json.loads(platform.cli("call", "wait", num, "--json", check=False).stdout)
    assert call["status"] == "ERROR" and "always" in call["error"]
    refused = platform.cli("invoke", "flaky", "--retries", "2", check=False)
    assert refused.returncode == 2 and "--async" in refused.stderr


def test_node_default_stem_cell_count(tmp_path: Path) -> None:
    plat = Platform(tmp_path / "home", {**os.environ, "FAASCTL_HOME": str(tmp_path / "home")})
    plat.cli("node", "add", "local", "--stem-cells", "1")
    try:
        plat.cli("runtime", "add", "python", "--from", "runtimes/python")
        deploy(plat, tmp_path, "one-stem", TRIVIAL, "--preload", "runtime")

        def stems() -> int:
            st = json.loads(plat.cli("node", "status", "local", "--json").stdout)
            return int(sum(st.get("stem_cells", {}).values()))

        assert wait_until(lambda: stems() == 1)
        time.sleep(1)
        assert stems() == 1  # the pool stops at the node's default, not the built-in 2
        bad = plat.cli("node", "add", "local", "--stem-cells", "99", check=False)
        assert bad.returncode == 2 and "stem-cells" in bad.stderr
    finally:
        plat.cli("node", "rm", "local", check=False)
