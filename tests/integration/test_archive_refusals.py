"""Hostile archives against a real local node: refused by the CLI, and by the agent itself
when the CLI's check is bypassed, with nothing deployed either way."""

from __future__ import annotations

import hashlib
import io
import tarfile
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


def test_agent_refuses_the_chain_even_when_the_cli_check_is_bypassed(platform: Platform, docker: object) -> None:
    from faasctl.core import artifacts
    from faasctl.core import nodes as core_nodes
    from faasctl.errors import InvalidInput

    data = chain_archive()
    digest = hashlib.sha256(data).hexdigest()
    ctx = platform.context()
    cache = ctx.settings.home / "artifacts" / f"{digest}.tar.gz"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(data)  # as a modified faasctl would cache it, unchecked
    node = core_nodes.get(ctx, "local")
    artifacts.push(ctx, node, digest)
    with pytest.raises(InvalidInput, match="archive refused: esc: link leaves the archive"):
        ctx.client(node).request("deploy", {"function": "chain-agent", "digest": digest, "runtime": {}}, timeout=120)
    volumes = docker.volumes.list(filters={"name": f"code-{digest[:16]}"})  # type: ignore[attr-defined]
    assert volumes == [], "a code volume was filled from a refused archive"
