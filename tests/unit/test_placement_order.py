"""Invocation policies as pure functions."""

from __future__ import annotations

import random

from faasctl.core import placement

NODES = [{"name": n, "labels": {"zone": z}} for n, z in (("c", "eu"), ("a", "us"), ("b", "eu"))]


def names(nodes: list[dict]) -> list[str]:
    return [n["name"] for n in nodes]


def test_round_robin_starts_after_the_last_node() -> None:
    assert names(placement.order("round-robin", NODES)) == ["a", "b", "c"]
    assert names(placement.order("round-robin", NODES, last="a")) == ["b", "c", "a"]
    assert names(placement.order("round-robin", NODES, last="c")) == ["a", "b", "c"]
    assert names(placement.order("round-robin", NODES, last="gone")) == ["a", "b", "c"]


def test_least_loaded_prefers_low_load_and_unknown_last() -> None:
    loads = {"a": 2.0, "b": 0.5}
    assert names(placement.order("least-loaded", NODES, loads=loads)) == ["b", "a", "c"]


def test_warm_first_then_stable_home() -> None:
    assert names(placement.order("warm-first", NODES, function="f", warm={"c": 1}))[0] == "c"
    homes = {names(placement.order("warm-first", NODES, function="f"))[0] for _ in range(5)}
    assert len(homes) == 1  # no warmth anywhere: always the same home node


def test_random_uses_the_given_rng() -> None:
    one = names(placement.order("random", NODES, rng=random.Random(7)))
    two = names(placement.order("random", NODES, rng=random.Random(7)))
    assert one == two and sorted(one) == ["a", "b", "c"]


def test_pinned_by_name_or_label() -> None:
    assert names(placement.pinned_nodes(NODES, ["a"])) == ["a"]
    assert names(placement.pinned_nodes(NODES, ["zone=eu"])) == ["c", "b"]
    assert names(placement.pinned_nodes(NODES, [])) == ["c", "a", "b"]
    assert placement.pinned_nodes(NODES, ["nowhere"]) == []
