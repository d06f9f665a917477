"""/v1 against a running `faasctl serve` on the shared platform: nodes, runtimes,
functions (deploy, policy, delete), sync and async invocations, calls, logs; and calls
made with the CLI and with the API seen by the other."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pydantic import TypeAdapter

from faasctl.api.models import CallOut
from tests.support.apiserver import ApiServer, four_dice, poll_call, python_image, serve, tar_gz
from tests.support.platform import REPO, Platform

pytestmark = pytest.mark.integration

DICE = tar_gz(REPO / "examples" / "dice")


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[ApiServer]:
    with serve(platform) as server:
        yield server


@pytest.fixture
def c(api: ApiServer) -> Iterator[httpx.Client]:
    with api.client() as client:
        yield client


def deploy(c: httpx.Client, name: str, archive: bytes = DICE, **form: object) -> httpx.Response:
    return c.put(f"/v1/functions/{name}", data={"runtime": "python", **form},
                 files={"archive": (f"{name}.tar.gz", archive, "application/gzip")})


def test_nodes_are_listed_with_live_status(c: httpx.Client) -> None:
    r = c.get("/v1/nodes")
    assert r.status_code == 200, r.text
    local = next(n for n in r.json() if n["name"] == "local")
    assert local["up"] is True and local["kind"] == "local" and local["cpus"] >= 1


def test_runtime_lifecycle(platform: Platform, c: httpx.Client) -> None:
    assert "python" in [rt["name"] for rt in c.get("/v1/runtimes").json()]
    assert c.get("/v1/runtimes/python").json()["run"] == "python3 test.py"
    body = {"name": "v1-rt", "image": python_image(platform), "run": "python3 test.py",
            "dependencies": "pip3 install -r requirements.txt"}
    r = c.post("/v1/runtimes", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["image"] == body["image"] and r.json()["path"] == "/ws"
    again = c.post("/v1/runtimes", json=body)
    assert again.status_code == 409 and again.json()["hint"]
    assert c.get("/v1/runtimes/v1-rt").status_code == 200
    assert c.delete("/v1/runtimes/v1-rt").status_code == 204
    gone = c.get("/v1/runtimes/v1-rt")
    assert gone.status_code == 404 and "v1-rt" in gone.json()["error"]


def test_deploy_invoke_sync_and_async_then_delete(c: httpx.Client) -> None:
    r = deploy(c, "v1-dice", timeout="20", memory_mb="128")
    assert r.status_code == 200, r.text
    fn = r.json()
    assert fn["changed"] is True and fn["runtime_name"] == "python" and fn["nodes"] == ["local"]
    assert fn["policy"] == {"timeout": 20.0, "memory_mb": 128}
    assert deploy(c, "v1-dice").json()["changed"] is False  # same code: nothing moves
    assert c.get("/v1/functions/v1-dice").json()["version"] == fn["version"]
    assert "v1-dice" in [f["name"] for f in c.get("/v1/functions").json()]
    live = next(f for f in c.get("/v1/functions", params={"live": "true"}).json() if f["name"] == "v1-dice")
    assert set(live["warm"]) == {"local"}

    sync = c.post("/v1/functions/v1-dice/invocations", json={"params": {"roll": "4d6"}})
    assert sync.status_code == 200, sync.text
    call = sync.json()
    assert call["status"] == "DONE" and four_dice(call["result"]) and call["async"] is False
    assert call["funcName"] == "v1-dice" and call["params"] == {"roll": "4d6"} and call["node"] == "local"
    # serve answers this plain call ahead of FastAPI (api/hot.py): the same document the
    # route's response model gives for the stored call, valid against it in strict mode
    assert c.get(f"/v1/calls/{call['callNum']}").json() == call
    assert list(call) == list(c.get(f"/v1/calls/{call['callNum']}").json())
    TypeAdapter(CallOut).validate_json(sync.content, strict=True)
    bare = c.post("/v1/functions/v1-dice/invocations")  # no body: params {}
    assert bare.status_code == 200 and bare.json()["params"] == {} and bare.json()["status"] == "DONE"

    accepted = c.post("/v1/functions/v1-dice/invocations", params={"async": "true"}, json={"params": {"roll": "4d6"}})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "PENDING" and accepted.json()["async"] is True
    num = accepted.json()["callNum"]
    done = poll_call(c, f"/v1/calls/{num}")
    assert done["status"] == "DONE" and four_dice(done["result"])

    listed = c.get("/v1/calls", params={"function": "v1-dice", "status": "DONE"}).json()
    assert {call["callNum"], num} <= {x["callNum"] for x in listed}
    assert all(x["funcName"] == "v1-dice" and x["status"] == "DONE" for x in listed)
    logs = c.get(f"/v1/calls/{num}/logs")
    assert logs.status_code == 200 and logs.json()["callNum"] == num and isinstance(logs.json()["log"], str)

    assert c.delete("/v1/functions/v1-dice").status_code == 204
    assert c.get("/v1/functions/v1-dice").status_code == 404
    refused = c.post("/v1/functions/v1-dice/invocations", json={})
    assert refused.status_code == 404 and refused.json()["error"]
    assert c.get(f"/v1/calls/{num}").json()["status"] == "DONE"  # calls outlive their function


def test_handler_mode_deploy_with_wheel_requirement(c: httpx.Client) -> None:
    r = deploy(c, "v1-sizes", tar_gz(REPO / "examples" / "sizes"), handler="main:handle")
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == "handler"
    call = c.post("/v1/functions/v1-sizes/invocations", json={"params": {"bytes": 1048576}}).json()
    assert call["status"] == "DONE", call
    assert json.loads(call["result"]) == {"bytes": 1048576, "human": "1.0 MiB"}


def test_cli_calls_show_in_the_api_and_api_calls_in_the_cli(platform: Platform, c: httpx.Client) -> None:
    assert deploy(c, "v1-both").status_code == 200
    by_cli = json.loads(platform.cli("invoke", "v1-both", "-p", "roll=4d6", "--json").stdout)
    seen = c.get(f"/v1/calls/{by_cli['callNum']}").json()
    assert seen["result"] == by_cli["result"] and seen["status"] == "DONE"
    assert c.get(f"/call/{by_cli['callNum']}").json()["result"] == by_cli["result"]
    assert f"c{by_cli['callNum']}" in c.get("/calls").json()

    by_api = c.post("/invokeFunction", json={"funcName": "v1-both", "params": {"roll": "4d6"}}).json()
    done = poll_call(c, f"/call/{by_api['callNum']}")
    shown = json.loads(platform.cli("call", "get", str(by_api["callNum"]), "--json").stdout)
    assert shown["status"] == "DONE" and shown["result"] == done["result"] and four_dice(shown["result"])
    listed = json.loads(platform.cli("call", "list", "--function", "v1-both", "--json").stdout)
    assert {by_cli["callNum"], by_api["callNum"]} <= {x["callNum"] for x in listed}


def test_concurrent_requests_each_get_their_own_call(c: httpx.Client, api: ApiServer) -> None:
    """Many requests at once run in serve's core threads, each with its own Context
    (sqlite connection, agent sockets): every call is recorded once and finishes."""
    assert deploy(c, "v1-many").status_code == 200

    def one(i: int) -> httpx.Response:
        with api.client() as own:
            if i % 2:
                return own.post("/v1/functions/v1-many/invocations", json={"params": {"roll": "4d6"}})
            return own.post("/invokeFunction", json={"funcName": "v1-many", "params": {"roll": "4d6"}})

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(one, range(24)))
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]
    nums = [r.json()["callNum"] for r in results]
    assert len(set(nums)) == len(nums)
    for num in nums:
        assert four_dice(poll_call(c, f"/v1/calls/{num}")["result"])


def test_policy_changes_without_uploading_code(platform: Platform, c: httpx.Client) -> None:
    assert deploy(c, "v1-policy", timeout="20", memory_mb="128").status_code == 200
    r = c.patch("/v1/functions/v1-policy/policy", json={"timeout": 10, "placement": "random"})
    assert r.status_code == 200, r.text
    fn = r.json()
    assert fn["policy"] == {"timeout": 10.0, "memory_mb": 128} and fn["placement"] == "random"
    assert fn["changed"] is False  # same code: a policy change moves no archive
    call = c.post("/v1/functions/v1-policy/invocations", json={"params": {"roll": "4d6"}}).json()
    assert call["status"] == "DONE" and four_dice(call["result"])
    before = c.get("/v1/functions/v1-policy").json()
    assert c.patch("/v1/functions/v1-policy/policy", json={"timeout": -1}).status_code == 400
    assert c.patch("/v1/functions/v1-policy/policy", json={"colour": "blue"}).status_code == 422
    assert c.patch("/v1/functions/no-such-fn/policy", json={"timeout": 5}).status_code == 404
    assert c.get("/v1/functions/v1-policy").json() == before
