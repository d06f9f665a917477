"""The operator's key pair read once per version of its file (invoke reads it on every call)."""

from __future__ import annotations

from pathlib import Path

from faasctl.state import keyfiles


def test_the_cached_pair_follows_the_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert keyfiles.read_cached(keys) is None  # no pair yet: nothing cached
    keyfiles.store(keys, {"public": "p1", "secret": "s1"})
    first = keyfiles.read_cached(keys)
    assert first == {"public": "p1", "secret": "s1"}
    first["secret"] = "changed by a caller"  # callers get a copy, not the cache
    assert keyfiles.read_cached(keys) == {"public": "p1", "secret": "s1"}
    (keys / keyfiles.FILE).unlink()  # moved away, as the docs say to make a new pair
    keyfiles.store(keys, {"public": "p2", "secret": "s2"})
    assert keyfiles.read_cached(keys) == {"public": "p2", "secret": "s2"}
    (keys / keyfiles.FILE).unlink()
    assert keyfiles.read_cached(keys) is None
