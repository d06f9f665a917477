"""The agent's /metrics in Prometheus text exposition, written by prometheus_client.

A custom collector reads the service's live state at scrape time (no duplicate counters
kept beside the service's own), in a registry of its own: the default registry would
add the process and platform collectors of whatever imports the agent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .service import Service

PREFIX = "faasctl_agent_"
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServiceCollector(Collector):
    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        s = self.service
        yield GaugeMetricFamily(PREFIX + "running_calls", "Calls running now", value=s.calls.running)
        warm = GaugeMetricFamily(PREFIX + "warm_containers", "Idle warm containers", labels=["function"])
        total = GaugeMetricFamily(PREFIX + "containers", "Containers of the function", labels=["function"])
        for name, versions in s.loaded.items():  # every loaded version of the function
            warm.add_metric([name], sum(len(p.idle) for p in versions.values()))
            total.add_metric([name], sum(p.size for p in versions.values()))
        yield warm
        yield total
        for name, value in sorted(s.counters.items()):
            yield CounterMetricFamily(PREFIX + name, f"Count of {name.replace('_', ' ')}", value=value)


def registry(service: Service) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(ServiceCollector(service))
    return reg


def exposition(reg: CollectorRegistry) -> bytes:
    return generate_latest(reg)
