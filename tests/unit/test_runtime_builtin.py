"""Built-in runtimes read as package data (also out of a zip) and the carry progress."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from faasctl_agent import archive

from faasctl.core import images, runtime_builtin
from faasctl.errors import NotFound

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "faasctl"


def test_python_is_built_in_and_packs_like_its_folder() -> None:
    assert "python" in runtime_builtin.names()
    files = runtime_builtin.files("python")
    assert set(files) == {"Dockerfile", "runtime.toml"}
    # Same digest as `--from runtimes/python`, so both name the same image tag.
    assert archive.sha256(runtime_builtin.packed("python")) == archive.sha256(
        archive.pack_dir(PACKAGE / "runtimes" / "python"))
    described = runtime_builtin.describe("python")
    assert described["run"] == "python3 test.py" and described["offline_base"] == "faasctl/base:bookworm"


def test_node_is_built_in_with_its_runner_and_install_script() -> None:
    """Issue 13: a second language; the definition names the runner the agent starts."""
    files = runtime_builtin.files("node")
    assert set(files) == {"Dockerfile", "runtime.toml", "npm-deps.sh"}
    assert archive.sha256(runtime_builtin.packed("node")) == archive.sha256(
        archive.pack_dir(PACKAGE / "runtimes" / "node"))
    described = runtime_builtin.describe("node")
    assert (described["runner"], described["run"], described["offline_base"]) == (
        "node", "node index.js", "faasctl/base:bookworm")
    assert runtime_builtin.describe("python")["runner"] == "python"  # no `runner` in its definition: Python


def test_the_old_path_still_leads_to_the_built_in() -> None:
    assert (REPO / "runtimes").is_symlink()
    assert (REPO / "runtimes" / "python" / "Dockerfile").read_bytes() == runtime_builtin.files("python")["Dockerfile"]


def test_unknown_built_in_names_the_ones_there_are() -> None:
    with pytest.raises(NotFound) as refused:
        runtime_builtin.files("cobol")
    assert "python" in refused.value.hint and "--from DIR" in refused.value.hint


def test_read_from_a_zip_without_any_filesystem_path(tmp_path: Path) -> None:
    """The single file is a zipapp: zip the whole faasctl package and import it from there."""
    bundle = tmp_path / "faasctl.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        for path in sorted(PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(REPO).as_posix())
    probe = ("import faasctl, faasctl.core.runtime_builtin as b, hashlib\n"
             "print(faasctl.__file__)\nprint(b.names())\n"
             "print(hashlib.sha256(b.packed('python')).hexdigest())\n")
    env = {**os.environ, "PYTHONPATH": str(bundle)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=120, check=True).stdout.splitlines()
    assert out[0].startswith(str(bundle))  # really imported from the zip
    assert out[1] == "['node', 'python']"
    assert out[2] == archive.sha256(runtime_builtin.packed("python"))


def test_carry_progress_reports_each_tenth_once_and_passes_every_byte() -> None:
    lines: list[str] = []
    sent = [0]
    chunks = [b"x" * 1000] * 25  # 25,000 bytes against an expected 20,000 (save is a bit bigger)
    out = b"".join(images.counted(iter(chunks), 20_000, sent, lines.append))
    assert len(out) == sent[0] == 25_000
    assert [line.split("%")[0].strip() for line in lines] == [str(p) for p in range(10, 100, 10)]
