"""The dashboard's two sources against one real platform: LocalSource (the state file,
through the core) and RemoteSource (a real `faasctl serve` with a token) hand out the
same row shapes, a failed sync call comes back as its record from both, and errors map
to the same classes (unknown function, bad token, nothing listening)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faasctl.config import Settings
from faasctl.dashboard.remote import RemoteSource
from faasctl.dashboard.sources import LocalSource
from faasctl.errors import InvalidInput, NodeUnreachable, NotFound
from tests.support.apiserver import ApiServer, free_port, serve
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

TOKEN = "sources-test-token"
HANDLER = ("def handle(p):\n    if p.get('fail'):\n        raise ValueError('asked to fail')\n"
           "    return 'ok ' + str(p.get('n'))\n")


@pytest.fixture(scope="module")
def api(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    src = tmp_path_factory.mktemp("src-fn")
    (src / "main.py").write_text(HANDLER)
    platform.cli("fn", "deploy", "src-fn", str(src), "--runtime", "python", "--handler", "main:handle")
    token_file = platform.home / "sources-token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    with serve(platform, "--token-file", str(token_file), token=TOKEN) as server:
        yield server


def both(platform: Platform, api: ApiServer, work: Any) -> tuple[Any, Any]:
    """`await work(source)` for a LocalSource and a RemoteSource; both closed after."""

    async def run() -> tuple[Any, Any]:
        local, remote = LocalSource(Settings(home=platform.home)), RemoteSource(api.url, TOKEN)
        try:
            return await work(local), await work(remote)
        finally:
            await local.close()
            await remote.close()

    return asyncio.run(run())


def shape(row: dict[str, Any]) -> dict[str, str]:
    """Keys and JSON kinds of a row (a null counts as any kind: it depends on the moment)."""
    return {k: type(v).__name__ for k, v in row.items() if v is not None}


def same_shapes(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert a and b
    for x, y in zip(a, b):
        assert list(x) == list(y)  # the same keys in the same order
        common = set(shape(x)) & set(shape(y))
        assert {k: shape(x)[k] for k in common} == {k: shape(y)[k] for k in common}, (x, y)


def test_nodes_functions_and_calls_have_the_same_shapes(platform: Platform, api: ApiServer) -> None:
    async def work(src: Any) -> dict[str, Any]:
        call = await src.invoke("src-fn", {"n": 1})
        return {"call": call, "nodes": await src.nodes(), "functions": await src.functions(),
                "calls": await src.calls(function="src-fn", limit=5), "one": await src.call(call["callNum"]),
                "log": await src.call_logs(call["callNum"])}

    local, remote = both(platform, api, work)
    for got in (local, remote):
        assert got["call"]["status"] == "DONE" and got["call"]["result"] == "ok 1"
        node = next(n for n in got["nodes"] if n["name"] == "local")
        assert node["up"] is True and node["drained"] is False and isinstance(node["stem_cells"], dict)
        fn = next(f for f in got["functions"] if f["name"] == "src-fn")
        assert fn["warm"] is not None and "local" in fn["warm"]
        assert got["one"]["callNum"] == got["call"]["callNum"] and isinstance(got["log"], str)
    same_shapes(local["nodes"], remote["nodes"])
    same_shapes([f for f in local["functions"] if f["name"] == "src-fn"],
                [f for f in remote["functions"] if f["name"] == "src-fn"])
    same_shapes(local["calls"], remote["calls"])
    same_shapes([local["call"], local["one"]], [remote["call"], remote["one"]])
    assert "async" in local["call"] and "is_async" not in local["call"]  # the API's alias, as /v1 answers


def test_a_failed_sync_call_is_returned_and_async_is_pending(platform: Platform, api: ApiServer) -> None:
    async def work(src: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return await src.invoke("src-fn", {"fail": True}), await src.invoke("src-fn", {"n": 2}, is_async=True)

    for failed, accepted in both(platform, api, work):
        assert failed["status"] == "ERROR" and "asked to fail" in failed["error"]
        assert accepted["async"] is True and accepted["status"] in ("PENDING", "RUNNING", "DONE")


def test_policy_and_drain_through_both(platform: Platform, api: ApiServer) -> None:
    async def work(src: Any) -> tuple[dict[str, Any], bool]:
        fn = await src.set_policy("src-fn", {"timeout": 25})
        await src.drain_node("local")
        try:
            drained = next(n for n in await src.nodes() if n["name"] == "local")["drained"]
        finally:
            await src.drain_node("local", False)
        return fn, drained

    for fn, drained in both(platform, api, work):
        assert fn["policy"]["timeout"] == 25 and drained is True


def test_errors_map_to_the_same_classes(platform: Platform, api: ApiServer) -> None:
    async def unknown(src: Any) -> list[type[Exception]]:
        found = []
        for attempt in (src.invoke("no-such-fn", {}), src.call(10**9), src.remove_function("no-such-fn"),
                        src.drain_node("no-such-node"), src.set_policy("src-fn", {"timeout": "soon"})):
            try:
                await attempt
            except Exception as exc:  # noqa: BLE001  (the class is what is checked)
                assert getattr(exc, "message", "") and hasattr(exc, "hint")
                found.append(type(exc))
        return found

    local, remote = both(platform, api, unknown)
    assert local == remote == [NotFound, NotFound, NotFound, NotFound, InvalidInput]


def test_remote_errors_for_a_bad_token_and_nothing_listening(api: ApiServer, tmp_path: Path) -> None:
    async def nodes(src: RemoteSource) -> Any:
        try:
            return await src.nodes()
        finally:
            await src.close()

    with pytest.raises(InvalidInput) as bad:
        asyncio.run(nodes(RemoteSource(api.url, "wrong-token")))
    assert "token" in bad.value.message and "--token-file" in bad.value.hint
    with pytest.raises(InvalidInput):
        asyncio.run(nodes(RemoteSource(api.url)))  # no token at all
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(NodeUnreachable) as down:
        asyncio.run(nodes(RemoteSource(url, TOKEN, timeout=5)))
    assert url in down.value.message and url in down.value.hint
    with pytest.raises(InvalidInput):
        RemoteSource("ftp://example.com")


def test_remove_function_and_node_through_both(platform: Platform, api: ApiServer, tmp_path: Path) -> None:
    from faasctl.core import nodes

    src = tmp_path / "gone"
    src.mkdir()
    (src / "main.py").write_text(HANDLER)

    async def work(source: Any) -> tuple[int, bool, bool]:
        platform.cli("fn", "deploy", "src-gone", str(src), "--runtime", "python", "--handler", "main:handle")
        version = next(f["version"] for f in await source.functions() if f["name"] == "src-gone")
        await source.remove_function("src-gone")
        fn_gone = "src-gone" not in {f["name"] for f in await source.functions()}
        await asyncio.to_thread(nodes.add_local, platform.context(), "src-extra")
        try:
            await source.remove_node("src-extra")
        finally:
            node_gone = "src-extra" not in {n["name"] for n in await source.nodes()}
            if not node_gone:  # never leave a second node on the shared platform
                await asyncio.to_thread(nodes.remove, platform.context(), "src-extra", False, None, True)
        return version, fn_gone, node_gone

    # deployed again after its removal: its version numbering goes on (calls keep their versions)
    assert both(platform, api, work) == ((1, True, True), (2, True, True))
