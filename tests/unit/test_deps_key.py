"""The dependency cache key covers what decides an install, and nothing else (issue 9, item 10)."""

from __future__ import annotations

from faasctl_agent.archive import Entry
from faasctl_agent.deps import cache_key

REQ = b"--no-index\n--find-links wheels\n-r pick.txt\n"


def tree(**files: bytes) -> list[Entry]:
    return [Entry(name.replace("__", "/").replace("_dot_", "."), "file", 0o644, data) for name, data in files.items()]


def base(**over: bytes) -> list[Entry]:
    files = {"requirements_dot_txt": REQ, "pick_dot_txt": b"mypkg==1.0\n", "main_dot_py": b"print(1)\n",
             "wheels__mypkg-1.0-py3-none-any_dot_whl": b"w1", "wheels__notes_dot_txt": b"n"}
    files.update(over)
    return tree(**files)


def key(entries: list[Entry], image: str = "sha256:img") -> str:
    return cache_key(entries, image, "pip3 install -r requirements.txt")


def test_included_file_change_changes_key() -> None:
    assert key(base()) != key(base(pick_dot_txt=b"mypkg==2.0\n"))


def test_nested_includes_and_constraints_are_followed() -> None:
    nested = {"requirements_dot_txt": b"-r reqs/a.txt\n", "reqs__a_dot_txt": b"-c c.txt\nfoo\n",
              "reqs__c_dot_txt": b"foo==1\n"}
    changed = dict(nested, reqs__c_dot_txt=b"foo==2\n")
    assert key(tree(**nested)) != key(tree(**changed))
    inline = {"requirements_dot_txt": b"--requirement=pick.txt\n", "pick_dot_txt": b"a\n"}
    assert key(tree(**inline)) != key(tree(**dict(inline, pick_dot_txt=b"b\n")))


def test_files_in_a_find_links_folder_count() -> None:
    assert key(base()) != key(base(wheels__notes_dot_txt=b"changed"))
    assert key(base()) != key(base(**{"wheels__mypkg-2.0-py3-none-any_dot_whl": b"w2"}))


def test_local_path_requirement_counts() -> None:
    files = {"requirements_dot_txt": b"./vendor/pkg\n", "vendor__pkg__setup_dot_py": b"v1"}
    assert key(tree(**files)) != key(tree(**dict(files, vendor__pkg__setup_dot_py=b"v2")))


def test_runtime_image_counts() -> None:
    assert key(base(), "sha256:one") != key(base(), "sha256:two")


def test_code_change_keeps_the_key() -> None:
    assert key(base()) == key(base(main_dot_py=b"print(2)\n"))


def test_include_cycle_terminates() -> None:
    cyc = {"requirements_dot_txt": b"-r a.txt\n", "a_dot_txt": b"-r requirements.txt\n-r a.txt\n"}
    assert len(key(tree(**cyc))) == 64
