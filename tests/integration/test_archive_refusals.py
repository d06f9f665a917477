"""Hostile archives against a real local node: refused by the CLI, and by the agent itself
when the CLI's check is bypassed, with nothing deployed either way."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.platform import Platform

pytestmark = pytest.mark.integration

DEPTH = 20
DEEP = "/".join(f"d{i}" for i in range(DEPTH))


def chain_archive() -> bytes:
    """`x -> ../..` deep down, and `esc` walking up through it to the container's /etc/passwd."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        body = b"def handle(p):\n    return open('esc').read()\n"
        info = tarfile.TarInfo("main.py")
        info.size = len(body)
        tf.addfile(info, io.BytesIO(body))
        for name, target in ((f"{DEEP}/x", "../.."), ("esc", f"{DEEP}/x/" + "../" * DEPTH + "etc/passwd")):
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.SYMTYPE, target
            tf.addfile(link)
    return buf.getvalue()


def test_cli_refuses_a_chain_of_links_out_of_the_tree(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "chain.tar.gz"
    path.write_bytes(chain_archive())
    proc = platform.cli("fn", "deploy", "chain-cli", str(path), "--runtime", "python", "--handler", "main:handle",
                        check=False)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(("error:", "hint:"))]
    assert lines[0] == "error: archive refused: esc: link leaves the archive", proc.stderr
    assert lines[1].startswith("hint: ") and "Traceback" not in proc.stderr
    assert "chain-cli" not in platform.cli("fn", "list").stdout


def gnu_long_name_bomb() -> bytes:
    from tests.unit.test_archive_bombs import huge_header_bomb

    return huge_header_bomb(b"L")


@pytest.mark.parametrize("make,reason", [
    (chain_archive, "esc: link leaves the archive"),
    (gnu_long_name_bomb, "an extended tar header of 1073741824 bytes is over the limit"),
])
def test_agent_refuses_even_when_the_cli_check_is_bypassed(platform: Platform, docker: object,
                                                            make: Callable[[], bytes], reason: str) -> None:
    from faasctl.core import artifacts
    from faasctl.core import nodes as core_nodes
    from faasctl.errors import InvalidInput

    data = make()
    digest = hashlib.sha256(data).hexdigest()
    ctx = platform.context()
    cache = ctx.settings.home / "artifacts" / f"{digest}.tar.gz"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(data)  # as a modified faasctl would cache it, unchecked
    node = core_nodes.get(ctx, "local")
    artifacts.push(ctx, node, digest)
    with pytest.raises(InvalidInput, match=f"archive refused: {reason}"):
        ctx.client(node).request("deploy", {"function": "hostile-agent", "digest": digest, "runtime": {}}, timeout=120)
    volumes = docker.volumes.list(filters={"name": f"code-{digest[:16]}"})  # type: ignore[attr-defined]
    assert volumes == [], "a code volume was filled from a refused archive"


def test_serve_refuses_bombs_and_newline_names_without_changing_state(platform: Platform) -> None:
    from tests.support.apiserver import dump_state, serve
    from tests.unit.test_archive_bombs import folders_bomb, huge_header_bomb

    before = dump_state(platform)
    with serve(platform) as api, api.client() as client:
        for bomb in (huge_header_bomb(b"x"), huge_header_bomb(b"L"), folders_bomb(1_000_000)):
            r = client.post("/registerFunction/python/bomb", files={"module": ("bomb.tar.gz", bomb)})
            assert r.status_code == 400, r.text
            assert r.json()["error"].startswith("archive refused: ") and r.json()["hint"]
            assert "over the limit" in r.json()["error"] or "entries, the limit" in r.json()["error"]
        ok = {"module": ("dice.tar.gz", chain_archive())}
        r = client.post("/registerFunction/python/dice%0a", files=ok)
        assert r.status_code == 400 and r.json()["error"] == "'dice\\n' is not a valid function name", r.text
        r = client.put("/v1/functions/dice%0a", data={"runtime": "python"}, files={"archive": ("a.tar.gz", b"x")})
        assert r.status_code == 400 and "not a valid function name" in r.json()["error"], r.text
        assert client.get("/functions").json().count("bomb") == 0
    assert dump_state(platform) == before, "a refused request changed the state"
