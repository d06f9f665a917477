"""Issue 14's pure agent logic: what dropping versions may free (sweep.py), the journal's
kept versions on a real SQLite file, and a retired pool keeping no warm minimum.

The Docker side (volumes, images, warm containers reused) is in
tests/integration/test_agent_versions.py against a real engine and a real agent.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from faasctl_agent import sweep
from faasctl_agent.journal import Journal

from tests.unit.test_pool import make_pool


def spec(digest: str, deps: str | None = None, image: str = "faasctl/rt-python:1", name: str = "f") -> dict[str, Any]:
    return {"name": name, "digest": digest, "image": image, "code_volume": f"code-{digest}", "deps_volume": deps,
            "runner_volume": "runner-x", "version": digest}


def test_a_dropped_version_frees_only_what_no_kept_version_uses() -> None:
    dropped = [spec("a1", deps="deps-shared", image="rt:old"), spec("a2", deps="deps-a2", image="rt:new")]
    remaining = [spec("a3", deps="deps-shared", image="rt:new")]
    got = sweep.plan(dropped, remaining)
    assert got.artifacts == ("a1", "a2")
    assert got.volumes == ("code-a1", "code-a2", "deps-a2")  # deps-shared stays: a3 uses it
    assert got.images == ("rt:old",)
    assert "runner-x" not in got.volumes  # every container mounts the runner volume


def test_kept_images_claims_and_other_functions_protect_their_resources() -> None:
    dropped = [spec("a1", deps="deps-1", image="rt:old")]
    other_function = [spec("a1", deps=None, image="rt:other", name="g")]  # same code deployed as another function
    got = sweep.plan(dropped, other_function, keep_images=["rt:old"])
    assert got == sweep.Plan(artifacts=(), volumes=("deps-1",), images=())
    in_flight = sweep.plan(dropped, [], claimed=["deps-1", "a1"])  # a deploy naming them right now
    assert in_flight.artifacts == () and in_flight.volumes == ("code-a1",) and in_flight.images == ("rt:old",)
    assert sweep.plan([], [spec("a3")]) == sweep.Plan()


def test_still_free_is_asked_again_before_each_removal() -> None:
    assert sweep.still_free("code-a1", [spec("a2")], [])
    assert not sweep.still_free("code-a1", [spec("a1")], [])
    assert not sweep.still_free("deps-9", [], ["deps-9"])


def test_journal_keeps_every_version_and_points_at_the_active_one(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    journal.save_function("f", "d1", spec("d1"))
    journal.save_function("f", "d2", spec("d2"), active=False)  # loaded, not active
    assert journal.active("f") == "d1"
    assert [d for _, d, _, _ in journal.versions("f")] == ["d1", "d2"]
    journal.save_function("f", "d2", spec("d2"))
    assert journal.active("f") == "d2" and [s["digest"] for s in journal.functions()] == ["d2"]
    assert journal.version("f", "d1") == spec("d1") and journal.version("f", "nope") is None
    journal.forget_version("f", "d2")  # the active one: refused quietly, the pointer still holds it
    journal.forget_version("f", "d1")
    assert [d for _, d, _, _ in journal.versions()] == ["d2"]
    journal.forget_function("f")
    assert journal.versions() == [] and journal.active("f") is None


def test_an_older_journal_gets_the_versions_table_with_its_active_functions(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with sqlite3.connect(str(path)) as db:  # the schema an agent before issue 14 made
        db.execute("CREATE TABLE functions (name TEXT PRIMARY KEY, digest TEXT NOT NULL, spec TEXT NOT NULL, "
                   "updated_at REAL NOT NULL)")
        db.execute("INSERT INTO functions VALUES ('f', 'd1', '{\"digest\": \"d1\"}', 5.0)")
    journal = Journal(path)
    assert journal.versions() == [("f", "d1", {"digest": "d1"}, 5.0)]
    journal.close()
    assert Journal(path).versions() == [("f", "d1", {"digest": "d1"}, 5.0)]  # opened again: no duplicate


def test_a_removed_volume_leaves_no_mark_nor_dependency_cache(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    journal.mark_volume("deps-1")
    journal.save_deps("key-1", "deps-1")
    journal.forget_volume("deps-1")
    assert not journal.volume_complete("deps-1") and journal.deps_volume("key-1") is None


def test_a_retired_pool_keeps_no_warm_minimum() -> None:
    async def scenario() -> None:
        pool, _, stopped = make_pool(min_warm=1, max_concurrency=3)
        await pool.prewarm(2)
        pool.retired = True
        pool.reap(now=time.monotonic() + 10_000.0)  # past the idle timeout
        await asyncio.sleep(0)
        assert pool.idle == [] and len(stopped) == 2
        assert (await pool.acquire()).kind == "cold"  # still serves calls addressed to it

    asyncio.run(scenario())
