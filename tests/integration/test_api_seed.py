"""The seed's API flow against a running `faasctl serve`, with the seed's exact request bodies.

One test runs on a platform of its own (a fresh FAASCTL_HOME with its own local agent),
so the seed's documented answers can be compared byte for byte: `["pythonruntime"]`,
`["dice"]`, `{"c1": {...}}`, call 1. `pythonruntime` is the Python runtime image the
session platform built, tagged with the seed's name, as the README tells users to do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from faasctl.api.models import SeedCall
from tests.support.apiserver import ApiServer, four_dice, poll_call, python_image, serve, tar_gz
from tests.support.platform import REPO, Platform, docker_client

pytestmark = pytest.mark.integration

SEED_RUNTIME = '{"image": "pythonruntime","path": "/ws","dependencies": "pip3 install -r requirements.txt","run":"python3 test.py"}'  # noqa: E501
SEED_INVOKE = '{"funcName":"dice", "params": {"roll":"4d6"}}'
JSON = {"Content-Type": "application/json"}
SEED_KEYS = ["funcName", "params", "callNum", "status", "result"]


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@pytest.fixture(scope="module")
def seed_platform(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A fresh platform (own state, own local agent) with `pythonruntime` tagged locally."""
    docker_client().images.get(python_image(platform)).tag("pythonruntime", "latest")
    home = tmp_path_factory.mktemp("seed-home")
    fresh = Platform(home, {**os.environ, "FAASCTL_HOME": str(home)})
    fresh.cli("node", "add", "local")
    yield fresh
    fresh.cli("node", "rm", "local", check=False)


@pytest.fixture(scope="module")
def seed_api(seed_platform: Platform) -> Iterator[ApiServer]:
    with serve(seed_platform) as server:
        yield server


def test_seed_flow_byte_for_byte(seed_api: ApiServer) -> None:
    with seed_api.client() as c:
        r = c.post("/registerRuntime", content=SEED_RUNTIME, headers=JSON)
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "pythonruntime" and r.json()["image"] == "pythonruntime"

        upload = {"module": ("python.tar.gz", tar_gz(REPO / "examples" / "dice"), "application/gzip")}
        r = c.post("/registerFunction/pythonruntime/dice", files=upload)
        assert r.status_code == 200, r.text
        assert r.json()["functionName"] == "dice" and r.json()["runtimeName"] == "pythonruntime"

        r = c.post("/invokeFunction", content=SEED_INVOKE, headers=JSON)
        assert r.status_code == 200, r.text
        accepted = r.json()
        assert list(accepted) == SEED_KEYS
        SeedCall.model_validate_json(r.content, strict=True)  # the hot path's bytes (api/hot.py) are the model's
        assert accepted["callNum"] == 1 and accepted["funcName"] == "dice" and accepted["params"] == {"roll": "4d6"}

        assert c.get("/runtimes").text == '["pythonruntime"]'
        assert c.get("/functions").text == '["dice"]'

        calls = c.get("/calls")
        assert calls.status_code == 200 and list(calls.json()) == ["c1"]
        c1 = calls.json()["c1"]
        assert list(c1) == SEED_KEYS and c1["status"] in ("PENDING", "RUNNING", "DONE")
        assert calls.text == compact({"c1": c1})  # the seed's compact form, keys in the seed's order

        done = poll_call(c, "/call/1")
        assert done["status"] == "DONE", done
        assert four_dice(done["result"]), done
        assert c.get("/call/1").text == compact({"funcName": "dice", "params": {"roll": "4d6"}, "callNum": 1,
                                                 "status": "DONE", "result": done["result"]})
        assert c.get("/calls").json() == {"c1": done}


def doc_examples() -> list[tuple[str, str]]:
    """(command, printed answer) for each curl in the README's seed block, continuations joined."""
    text = (REPO / "README.md").read_text()
    block = text.split("Then the seed's examples work as printed:", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    pairs: list[tuple[str, str]] = []
    for line in block.replace("\\\n", " ").splitlines():
        if line.startswith("curl"):
            pairs.append((line, ""))
        elif line.strip() and pairs:
            pairs[-1] = (pairs[-1][0], line.strip())
    return pairs


def test_seed_curl_examples_in_the_readme_work_as_printed(seed_api: ApiServer, tmp_path: Path) -> None:
    """The README's curl lines, run by bash as printed; only the port is this test server's, and
    curl is told to fail on an HTTP error status (-sS --fail-with-body)."""
    assert shutil.which("curl"), "curl is needed to run the documented examples (apt-get install curl)"
    (tmp_path / "python.tar.gz").write_bytes(tar_gz(REPO / "examples" / "dice"))
    examples = doc_examples()
    assert len(examples) == 7, examples
    port = seed_api.url.rsplit(":", 1)[1]
    answers = {}
    for command, printed in examples:
        runnable = command.replace("localhost:3000", f"localhost:{port}")
        runnable = runnable.replace("curl ", "curl -sS --fail-with-body ", 1)
        proc = subprocess.run(["bash", "-c", runnable],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 0, f"{command}\n{proc.stderr}"
        path = command.rsplit("/", 1)[1]
        answers[path] = proc.stdout
        if printed and path in ("runtimes", "functions"):
            assert proc.stdout == printed, command  # deterministic: byte for byte
        elif printed:
            assert set(json.loads(proc.stdout)) >= set(json.loads(printed)), command  # same keys (c1, seed fields)
    num = json.loads(answers["invokeFunction"])["callNum"]
    assert list(json.loads(answers["invokeFunction"])) == SEED_KEYS
    with httpx.Client(base_url=seed_api.url) as c:
        assert four_dice(poll_call(c, f"/call/{num}")["result"])


def test_image_reference_gets_a_derived_runtime_name(platform: Platform) -> None:
    """An image that is not a valid name (`faasctl/rt-python:<tag>`) registers under a derived name,
    and registerFunction accepts that name or the image itself."""
    image = python_image(platform)
    derived = "faasctl-rt-python-" + image.rsplit(":", 1)[1]
    with serve(platform) as api, api.client() as c:
        body = {"image": image, "path": "/ws", "dependencies": "pip3 install -r requirements.txt",
                "run": "python3 test.py"}
        r = c.post("/registerRuntime", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["name"] == derived
        assert derived in c.get("/runtimes").json()
        archive = tar_gz(REPO / "examples" / "dice")
        r = c.post(f"/registerFunction/{image}/seed-dice", files={"module": ("dice.tar.gz", archive)})
        assert r.status_code == 200, r.text
        assert r.json()["runtimeName"] == derived
        r = c.post("/invokeFunction", json={"funcName": "seed-dice", "params": {"roll": "4d6"}})
        assert r.status_code == 200, r.text
        assert four_dice(poll_call(c, f"/call/{r.json()['callNum']}")["result"])
        assert "seed-dice" in c.get("/functions").json()
