"""Links resolved as the kernel follows them: chains out of the tree are refused."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from faasctl_agent import archive, archive_links

DEPTH = 20
DEEP = "/".join(f"d{i}" for i in range(DEPTH))


def tar_gz(members: list[tuple[str, str, str]]) -> bytes:
    """(name, kind, link target or file text) -> tar.gz, in the order given."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, value
                tf.addfile(info)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
            else:
                info.size = len(value)
                tf.addfile(info, io.BytesIO(value.encode()))
    return buf.getvalue()


def chain_escape() -> list[tuple[str, str, str]]:
    """The issue's archive: each link alone looks inside, together they reach /etc/passwd."""
    return [("main.py", "file", "print(open('esc').read())\n"),
            (f"{DEEP}/x", "link", "../.."),
            ("esc", "link", f"{DEEP}/x/" + "../" * DEPTH + "etc/passwd")]


def test_each_link_of_the_chain_alone_looks_inside() -> None:
    """The text-only check this replaces passed both; they pass here on their own too."""
    archive.read_entries(tar_gz(chain_escape()[:2]))
    archive.read_entries(tar_gz([chain_escape()[0], (f"{DEEP}/x", "dir", ""), chain_escape()[2]]))


def test_chain_of_links_out_of_the_tree_is_refused() -> None:
    with pytest.raises(archive.ArchiveError, match="esc: link leaves the archive"):
        archive.read_entries(tar_gz(chain_escape()))


def test_chain_refused_whatever_the_order_of_entries() -> None:
    with pytest.raises(archive.ArchiveError, match="leaves the archive"):
        archive.read_entries(tar_gz(list(reversed(chain_escape()))))


@pytest.mark.parametrize("members,match", [
    ([("a", "link", "b"), ("b", "link", "a"), ("m.py", "file", "")], "loop"),
    ([("up", "link", ".."), ("m.py", "file", "")], "leaves"),
    ([("sub/up", "link", "../x/../.."), ("m.py", "file", "")], "leaves"),
    ([("l1", "link", "sub"), ("sub/l2", "link", "../l1/../.."), ("m.py", "file", "")], "leaves"),
    ([("ln", "link", "sub"), ("sub", "dir", ""), ("ln/evil.py", "file", "x")], "path goes through the link ln"),
    ([("out", "link", "/etc"), ("m.py", "file", "")], "leaves"),
    ([("m.py", "file", "a"), ("m.py", "file", "b"), ("n.py", "file", "")], "appears twice"),
])
def test_hostile_link_layouts_are_refused(members: list[tuple[str, str, str]], match: str) -> None:
    with pytest.raises(archive.ArchiveError, match=match):
        archive.read_entries(tar_gz(members))


def test_links_that_stay_inside_are_kept() -> None:
    members = [("pkg/mod.py", "file", "x = 1\n"), ("pkg/sub/back", "link", "../mod.py"),
               ("alias", "link", "pkg/sub"), ("top", "link", "alias/back"), ("root", "link", "."),
               ("deep", "link", f"{DEEP}/x/../../.."), (f"{DEEP}/x", "dir", "")]
    kinds = {e.name: e.kind for e in archive.read_entries(tar_gz(members))}
    assert kinds["top"] == kinds["alias"] == kinds["root"] == kinds["deep"] == "link"


def test_resolution_work_is_bounded() -> None:
    """Many long targets stop at the step budget rather than taking as long as they like."""
    target = "./" * 2000 + "m.py"  # 2,001 components, under the 4096-byte name limit
    count = archive_links.MAX_LINK_STEPS // 2000 + 1
    members = [("m.py", "file", "")] + [(f"l{i}", "link", target) for i in range(count)]
    with pytest.raises(archive.ArchiveError, match="steps to resolve"):
        archive.read_entries(tar_gz(members))
    archive.read_entries(tar_gz(members[:count // 2]))  # half of them is fine


def test_folder_with_a_chain_is_refused(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("x")
    (tmp_path / DEEP).mkdir(parents=True)
    os.symlink("../..", tmp_path / DEEP / "x")
    os.symlink(f"{DEEP}/x/" + "../" * DEPTH + "etc/passwd", tmp_path / "esc")
    with pytest.raises(archive.ArchiveError, match="leaves the archive"):
        archive.pack_dir(tmp_path)
    assert archive_links.MAX_LINK_DEPTH == 40
