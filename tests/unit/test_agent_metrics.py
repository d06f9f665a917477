"""The agent's /metrics body (faasctl_agent/metrics.py): valid Prometheus exposition, read
back with prometheus_client's own parser, from the service's live state at scrape time."""

from __future__ import annotations

from types import SimpleNamespace

from faasctl_agent import metrics
from prometheus_client.parser import text_string_to_metric_families


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def test_exposition_reads_the_live_state() -> None:
    pool = SimpleNamespace(idle=[object()], size=2)
    retired = SimpleNamespace(idle=[], size=1)  # an older version still finishing a call (issue 14)
    service = SimpleNamespace(calls=SimpleNamespace(running=2), loaded={"dice": {"d2": pool, "d1": retired}},
                              counters={"calls_done": 5, "cold_starts": 1})
    reg = metrics.registry(service)  # type: ignore[arg-type]  # the fields the collector reads
    body = metrics.exposition(reg)
    assert samples(body) == {
        ("faasctl_agent_running_calls", ()): 2,
        ("faasctl_agent_warm_containers", (("function", "dice"),)): 1,
        ("faasctl_agent_containers", (("function", "dice"),)): 3,
        ("faasctl_agent_calls_done_total", ()): 5,
        ("faasctl_agent_cold_starts_total", ()): 1,
    }
    assert b'faasctl_agent_containers{function="dice"} 3.0' in body
    assert b"# TYPE faasctl_agent_calls_done_total counter" in body
    service.counters["calls_done"] = 6
    pool.idle.clear()
    again = samples(metrics.exposition(reg))  # read at scrape time, not kept beside the service
    assert again[("faasctl_agent_calls_done_total", ())] == 6
    assert again[("faasctl_agent_warm_containers", (("function", "dice"),))] == 0
    assert metrics.CONTENT_TYPE.startswith("text/plain; version=")


def test_label_values_are_escaped() -> None:
    weird = {'we"ird\\': {"d": SimpleNamespace(idle=[], size=0)}}
    service = SimpleNamespace(calls=SimpleNamespace(running=0), loaded=weird, counters={})
    body = metrics.exposition(metrics.registry(service))  # type: ignore[arg-type]
    assert ("faasctl_agent_containers", (("function", 'we"ird\\'),)) in samples(body)
