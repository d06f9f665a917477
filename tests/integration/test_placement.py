"""Issue 4: each invocation policy across two real agents, and an unreachable node skipped."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.platform import Platform, local_nodes

pytestmark = pytest.mark.integration

TRIVIAL = "def handle(p):\n    return 'ok'\n"
SLEEPY = "import time\n\ndef handle(p):\n    time.sleep(4)\n    return 'slept'\n"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Two agents (n1, n2) on this machine under one state file."""
    with local_nodes(tmp_path_factory.mktemp("faasctl-pair")) as plat:
        yield plat


def deploy(plat: Platform, tmp_path: Path, name: str, *opts: str, body: str = TRIVIAL) -> None:
    src = tmp_path / name
    src.mkdir(exist_ok=True)
    (src / "main.py").write_text(body)
    plat.cli("fn", "deploy", name, str(src), "--runtime", "python", "--handler", "main:handle", *opts)


def node_of(plat: Platform, name: str, *args: str) -> str:
    call: dict[str, Any] = json.loads(plat.cli("invoke", name, "--json", *args).stdout)
    assert call["status"] == "DONE"
    return str(call["node"])


def test_round_robin_alternates(pair: Platform, tmp_path: Path) -> None:
    deploy(pair, tmp_path, "rr", "--placement", "round-robin")
    picks = [node_of(pair, "rr") for _ in range(4)]
    assert picks in (["n1", "n2", "n1", "n2"], ["n2", "n1", "n2", "n1"]), picks


def test_random_uses_both_nodes(pair: Platform, tmp_path: Path) -> None:
    deploy(pair, tmp_path, "rnd", "--placement", "random")
    picks = Counter(node_of(pair, "rnd") for _ in range(16))
    assert set(picks) == {"n1", "n2"}, picks  # all 16 on one node: chance 2 in 65,536


def test_pinned_only_places_and_runs_on_the_pin(pair: Platform, tmp_path: Path) -> None:
    deploy(pair, tmp_path, "pin", "--placement", "pinned", "--pin", "n2")
    assert {node_of(pair, "pin") for _ in range(3)} == {"n2"}
    listed = {f["name"]: f for f in json.loads(pair.cli("fn", "list", "--json").stdout)}
    assert listed["pin"]["nodes"] == ["n2"]


def test_least_loaded_avoids_the_busy_node(pair: Platform, tmp_path: Path) -> None:
    deploy(pair, tmp_path, "hog", "--pin", "n1", "--max-concurrency", "4", body=SLEEPY)
    deploy(pair, tmp_path, "ll", "--placement", "least-loaded")
    for _ in range(2):
        pair.cli("invoke", "hog", "--async")
    assert {node_of(pair, "ll") for _ in range(3)} == {"n2"}


def test_warm_first_prefers_the_node_with_a_warm_container(pair: Platform, tmp_path: Path) -> None:
    deploy(pair, tmp_path, "wf", "--placement", "warm-first")
    home = node_of(pair, "wf")  # nothing warm yet: the function's stable home node
    other = "n2" if home == "n1" else "n1"
    ctx = pair.context()
    from faasctl.core import nodes

    # Remove the home node's warm container, warm the other node: the call must follow the warmth.
    ctx.client(nodes.get(ctx, home)).request("remove_function", {"function": "wf"})
    pair.cli("fn", "deploy", "wf", str(tmp_path / "wf"), "--runtime", "python", "--handler", "main:handle")
    assert node_of(pair, "wf", "--node", other) == other
    assert node_of(pair, "wf") == other


def test_unreachable_node_is_skipped_and_reported(pair: Platform, tmp_path: Path) -> None:
    deploy(pair, tmp_path, "sk", "--placement", "round-robin")
    n2_home = str(pair.home / "nodes" / "n2")
    subprocess.run([sys.executable, "-m", "faasctl_agent", "stop", "--home", n2_home], check=True,
                   capture_output=True)
    try:
        picks = [node_of(pair, "sk") for _ in range(4)]
        assert set(picks) == {"n1"}
        listed = {n["name"]: n for n in json.loads(pair.cli("node", "list", "--json").stdout)}
        assert listed["n2"]["status"]["up"] is False and listed["n1"]["status"]["up"] is True
    finally:
        from faasctl.core import nodes

        nodes.add_local(pair.context(), "n2")


def test_parallel_invokes_from_threads(pair: Platform, tmp_path: Path) -> None:
    deploy(pair, tmp_path, "par", "--placement", "round-robin")
    from faasctl.core.invoke import invoke

    results: list[str] = []

    def run() -> None:
        ctx = pair.context()
        for _ in range(10):
            results.append(invoke(ctx, "par", {})["status"])

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == ["DONE"] * 40


def test_deploy_fans_out_and_reports_a_failed_node_without_stopping(pair: Platform, tmp_path: Path) -> None:
    src = tmp_path / "fan"
    src.mkdir()
    (src / "main.py").write_text(TRIVIAL)
    both = pair.cli("fn", "deploy", "fan", str(src), "--runtime", "python", "--handler", "main:handle")
    assert "[n1]" in both.stderr and "[n2]" in both.stderr  # a progress line per node
    (src / "main.py").write_text(TRIVIAL + "# version 2\n")
    n2_home = str(pair.home / "nodes" / "n2")
    subprocess.run([sys.executable, "-m", "faasctl_agent", "stop", "--home", n2_home], check=True,
                   capture_output=True)
    try:
        partial = pair.cli("fn", "deploy", "fan", str(src), "--runtime", "python", "--handler", "main:handle",
                           check=False)
        assert partial.returncode != 0
        assert "deployed on 1 of 2 nodes" in partial.stderr and "n2:" in partial.stderr
        fn = {f["name"]: f for f in json.loads(pair.cli("fn", "list", "--json").stdout)}["fan"]
        assert fn["version"] == 2
        assert {node_of(pair, "fan") for _ in range(3)} == {"n1"}  # only n1 holds version 2
    finally:
        from faasctl.core import nodes

        nodes.add_local(pair.context(), "n2")
