"""The npm dependency key (issue 13): package.json, the lockfile and the local packages they
name decide an install; the function's own code does not. A broken package.json is one line."""

from __future__ import annotations

import json

import pytest
from faasctl_agent.archive import Entry
from faasctl_agent.deps import install_key
from faasctl_agent.deps_node import ManifestError, local_path

PKG = {"name": "fn", "version": "1.0.0", "dependencies": {"tiny": "file:vendor/tiny-1.0.0.tgz"}}
LOCK = {"lockfileVersion": 3, "packages": {"": {"dependencies": {"tiny": "file:vendor/tiny-1.0.0.tgz"}},
                                            "node_modules/tiny": {"version": "1.0.0",
                                                                  "resolved": "file:vendor/tiny-1.0.0.tgz"}}}


def archive(pkg: object = PKG, lock: object | None = None, **files: bytes) -> list[Entry]:
    out = {"package.json": json.dumps(pkg).encode() if not isinstance(pkg, bytes) else pkg,
           "index.js": b"module.exports.handle = async () => 1;\n", "vendor/tiny-1.0.0.tgz": b"tgz-1"}
    if lock is not None:
        out["package-lock.json"] = json.dumps(lock).encode()
    out.update({k.replace("__", "/"): v for k, v in files.items()})
    return [Entry(name, "file", 0o644, data) for name, data in out.items()]


def key(entries: list[Entry], image: str = "sha256:img") -> str | None:
    return install_key(entries, image, "sh /usr/local/lib/faasctl/npm-deps.sh", "node")


def test_code_change_keeps_the_key_and_a_new_tarball_changes_it() -> None:
    first = key(archive())
    assert first is not None
    assert key(archive(**{"index.js": b"module.exports.handle = async () => 2;\n"})) == first
    assert key(archive(**{"vendor__tiny-1.0.0.tgz": b"tgz-2"})) != first
    assert key(archive(), image="sha256:other") != first


def test_the_lockfile_and_the_files_it_names_count() -> None:
    with_lock = key(archive(lock=LOCK))
    assert with_lock != key(archive())
    moved = {**LOCK, "packages": {**LOCK["packages"], "node_modules/tiny": {"resolved": "file:lib/tiny.tgz"}}}
    assert key(archive(lock=moved, **{"lib__tiny.tgz": b"a"})) != key(archive(lock=moved, **{"lib__tiny.tgz": b"b"}))


def test_no_dependencies_means_no_install() -> None:
    assert key(archive(pkg={"name": "fn"})) is None
    assert key([Entry("index.js", "file", 0o644, b"")]) is None
    # package.json means nothing to a Python function
    assert install_key(archive(pkg=b"{broken"), "img", "pip3 install -r requirements.txt", "python") is None


@pytest.mark.parametrize(("pkg", "words"), [
    (b'{"name": "fn",\n "dependencies": {"tiny": "1.0.0",}}', "package.json is not valid JSON: Expecting property "
                                                             "name enclosed in double quotes at line 2 column"),
    (b"[1, 2]", "package.json must hold a JSON object"),
    (b'{"dependencies": ["tiny"]}', "dependencies must map package names to version strings"),
    (b"\xff\xfe", "package.json is not UTF-8 text"),
])
def test_a_broken_package_json_is_one_line_with_a_hint(pkg: bytes, words: str) -> None:
    with pytest.raises(ManifestError) as refused:
        key(archive(pkg=pkg))
    assert words in str(refused.value) and "\n" not in str(refused.value)
    assert refused.value.hint


def test_local_specs_are_read_as_npm_reads_them() -> None:
    assert local_path("file:vendor/a.tgz") == "vendor/a.tgz"
    assert local_path("./lib/pkg") == "lib/pkg"
    assert local_path("vendor/a.tgz") == "vendor/a.tgz"
    assert [local_path(s) for s in ("^1.2.0", "user/repo", "file:/abs/a.tgz", "file:../out.tgz", "https://x/a.tgz")] \
        == [None] * 5
