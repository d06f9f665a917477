"""The display rules, without a terminal: node states, summaries, params, policy changes."""

from __future__ import annotations

import pytest
from faasctl_agent.policy import PolicyError

from faasctl.dashboard import rows
from faasctl.dashboard.invoke_form import parse_params
from faasctl.dashboard.policy_form import changes
from faasctl.errors import InvalidInput


def test_node_state_puts_reachability_before_drain() -> None:
    assert rows.node_state({"up": True}) == "up"
    assert rows.node_state({"up": True, "drained": True}) == "drained"
    assert rows.node_state({"up": False, "drained": True}) == "down"
    assert rows.node_state({"up": False, "suspect": True}) == "suspect"


def test_summaries() -> None:
    assert rows.counts({"dice": 2, "sizes": 1}) == "3 (dice 2, sizes 1)"
    assert rows.counts({}) == "0" and rows.counts(None) == "0"
    assert rows.load({"running": 3, "cpus": 4}) == "0.75"
    assert rows.load({"running": None, "cpus": 4}) == rows.load({"running": 1, "cpus": 0}) == "-"
    assert rows.error_percent({"calls": 200, "errors": 3}) == "1.5%"
    assert rows.error_percent({"calls": 0, "errors": 0}) == "-"
    assert rows.number(None) == "-" and rows.number(4.25) == "4.2" and rows.number(31.0) == "31"
    assert rows.age(100.0, 165.0) == "1m" and rows.age(None, 1.0) == "-" and rows.age(10.0, 5.0) == "0s"
    assert rows.one_line("a\nb  c", 40) == "a b c" and rows.one_line("x" * 50, 10) == "x" * 9 + "…"
    assert rows.placement({"placement": "pinned", "pinned": ["n1", "zone=b"]}) == "pinned n1,zone=b"
    assert rows.preload({"policy": {"preload": "function", "min_warm": 2}}) == "function min2"
    assert rows.warm_per_node({"warm": {"n2": 1, "local": 2}}) == "local:2 n2:1"


def test_series_buckets_rate_by_start_and_latency_by_finish() -> None:
    now = 10_000.0
    calls = [
        {"funcName": "dice", "createdAt": now - 1, "finishedAt": now - 0.5, "runMs": 20.0},
        {"funcName": "dice", "createdAt": now - 2, "finishedAt": now - 1.5, "runMs": 40.0},
        {"funcName": "sizes", "createdAt": now - 299, "finishedAt": now - 298, "runMs": 5.0},
        {"funcName": "dice", "createdAt": now - 400, "finishedAt": now - 399, "runMs": 99.0},  # out of the window
        {"funcName": "dice", "createdAt": now - 3, "finishedAt": None, "runMs": None},  # still running
    ]
    rate, latency = rows.series(calls, now, "dice")
    width = rows.WINDOW / rows.BUCKETS
    assert len(rate) == len(latency) == rows.BUCKETS
    assert rate[-1] == pytest.approx(3 / width) and sum(rate[:-1]) == 0
    assert latency[-1] == pytest.approx(30.0) and sum(latency[:-1]) == 0
    rate_all, latency_all = rows.series(calls, now)
    assert rate_all[0] == pytest.approx(1 / width) and latency_all[0] == pytest.approx(5.0)


def test_params_are_json_or_key_values() -> None:
    assert parse_params("") == {}
    assert parse_params('{"roll": "4d6"}') == {"roll": "4d6"}
    assert parse_params("[1, 2]") == [1, 2] and parse_params("42") == 42
    assert parse_params("roll=4d6 note='two words' eq=a=b") == {"roll": "4d6", "note": "two words", "eq": "a=b"}
    for bad in ("{nope", "roll", "note='open"):
        with pytest.raises(InvalidInput):
            parse_params(bad)


def test_policy_changes_are_checked_and_only_the_changed_fields() -> None:
    current = {"preload": "function", "min_warm": 0, "timeout": 30.0, "network": False, "pin": []}
    given = {"preload": "function", "min_warm": "2", "timeout": "30", "network": True, "pin": []}
    assert changes(current, given) == {"min_warm": 2, "network": True}
    with pytest.raises(PolicyError):
        changes(current, {"min_warm": "65"})
    with pytest.raises(PolicyError):
        changes(current, {"preload": "sometimes"})
