"""A deterministic in-memory Source for display tests and snapshots only.

Fixed rows at a fixed clock (NOW), so a snapshot never changes with time or machine;
it records the actions it is asked for. Pilot tests use the real LocalSource instead.
"""

from __future__ import annotations

from typing import Any

from faasctl.errors import NotFound

NOW = 1_790_000_000.0


def _call(num: int, fn: str, status: str, node: str, kind: str, run: float, ago: float, result: str = "",
          error: str = "") -> dict[str, Any]:
    return {"funcName": fn, "params": {"roll": "2d6"} if fn == "dice" else {"bytes": num * 1000}, "callNum": num,
            "status": status, "result": result, "error": error, "node": node, "startKind": kind,
            "queueMs": 0.2, "startMs": 180.0 if kind == "cold" else 0.4, "runMs": run, "version": 1,
            "async": False, "createdAt": NOW - ago - run / 1000, "finishedAt": NOW - ago}


class FakeSource:
    label = "fake: /tmp/state.db"

    def __init__(self) -> None:
        self.actions: list[tuple[Any, ...]] = []
        self.fail = ""  # when set, every read raises NotFound(fail)
        self._nodes = [
            {"name": "local", "kind": "local", "host": "localhost", "labels": {}, "agent_version": "0.1.0", "up": True,
             "running": 1, "cpus": 4, "warm": {"dice": 2, "sizes": 1}, "stem_cells": {"python": 2}},
            {"name": "n2", "kind": "ssh", "host": "10.0.0.2", "labels": {"zone": "b"}, "agent_version": "0.1.0",
             "up": True, "running": 0, "cpus": 8, "warm": {"dice": 1}, "stem_cells": {"python": 2}, "drained": True},
            {"name": "n3", "kind": "ssh", "host": "10.0.0.3", "labels": {}, "agent_version": "", "up": False,
             "suspect": True, "last_error": "no answer within 2 s", "warm": {}, "stem_cells": {}},
        ]
        policy = {"preload": "function", "min_warm": 1, "max_concurrency": 8, "queue_limit": 64,
                  "idle_timeout": 300.0, "timeout": 30.0, "memory_mb": 256, "cpus": 1.0, "pids": 128,
                  "network": False, "placement": "round-robin", "pin": []}
        self._functions = [
            {"name": "dice", "runtime_name": "python", "version": 3, "digest": "ab" * 32, "mode": "command",
             "handler": "", "policy": policy, "placement": "round-robin", "pinned": [], "created_at": NOW - 9000,
             "updated_at": NOW - 600, "nodes": ["local", "n2"], "calls": 120, "errors": 3, "p50_ms": 4.2,
             "p99_ms": 31.0, "warm": {"local": 2, "n2": 1}},
            {"name": "sizes", "runtime_name": "python", "version": 1, "digest": "cd" * 32, "mode": "handler",
             "handler": "main:handle", "policy": {**policy, "preload": "runtime", "min_warm": 0,
                                                  "placement": "warm-first"},
             "placement": "warm-first", "pinned": [], "created_at": NOW - 8000, "updated_at": NOW - 8000,
             "nodes": ["local"], "calls": 7, "errors": 0, "p50_ms": 1.1, "p99_ms": 2.5, "warm": {"local": 1}},
        ]
        self._calls = [
            _call(130 - i, "dice" if i % 3 else "sizes", "ERROR" if i % 11 == 5 else "DONE",
                  "local" if i % 2 else "n2", "cold" if i % 17 == 0 else "warm", 3.0 + (i * 7) % 40, 4.0 + i * 9,
                  result="" if i % 11 == 5 else "[3, 5]", error="ValueError: bad roll" if i % 11 == 5 else "")
            for i in range(30)
        ]

    async def nodes(self) -> list[dict[str, Any]]:
        self._check()
        return [dict(n) for n in self._nodes]

    async def functions(self) -> list[dict[str, Any]]:
        self._check()
        return [dict(f) for f in self._functions]

    async def calls(self, function: str = "", status: str = "", limit: int = 200) -> list[dict[str, Any]]:
        self._check()
        rows = [c for c in self._calls if (not function or c["funcName"] == function)
                and (not status or c["status"] == status)]
        return rows[:limit]

    async def call(self, num: int) -> dict[str, Any]:
        for c in self._calls:
            if c["callNum"] == num:
                return dict(c)
        raise NotFound(f"no call {num}")

    async def call_logs(self, num: int) -> str:
        await self.call(num)
        return f"rolling for call {num}\n"

    async def invoke(self, function: str, params: Any, is_async: bool = False) -> dict[str, Any]:
        self.actions.append(("invoke", function, params, is_async))
        record = _call(131 + len(self.actions), function, "DONE", "local", "warm", 2.0, 0.0, result="[1, 2]")
        record["params"] = params
        return record

    async def remove_function(self, name: str) -> None:
        self.actions.append(("remove_function", name))
        self._functions = [f for f in self._functions if f["name"] != name]

    async def set_policy(self, name: str, policy: dict[str, Any]) -> dict[str, Any]:
        self.actions.append(("set_policy", name, policy))
        for f in self._functions:
            if f["name"] == name:
                f["policy"] = {**f["policy"], **policy}
                return dict(f)
        raise NotFound(f"no function {name}")

    async def drain_node(self, name: str, drained: bool = True) -> None:
        self.actions.append(("drain_node", name, drained))
        for n in self._nodes:
            if n["name"] == name:
                n["drained"] = drained

    async def remove_node(self, name: str) -> None:
        self.actions.append(("remove_node", name))
        self._nodes = [n for n in self._nodes if n["name"] != name]

    async def close(self) -> None:
        self.actions.append(("close",))

    def _check(self) -> None:
        if self.fail:
            raise NotFound(self.fail, "check the source")
