"""What the agent does for each operation: invoke, status and the rest (deploy: deployops.py,
versions of a function: versionops.py).

The service owns the pools and the journal and is the only place that mixes them; the
server in front of it only moves messages. Blocking Docker work runs in threads so a
slow container start or dependency install never holds up a warm call.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from . import __version__, store
from .config import AgentConfig
from .deployops import DeployOps
from .execution import CallRunner
from .executor import LABEL_FUNCTION, Executor
from .journal import Journal
from .keys import AllowList
from .pool import Pool, Worker
from .protocol import E_BAD_REQUEST, E_NOT_FOUND, VERSION, AgentFailure
from .versionops import VersionOps
from .workers import Workers


class Service(VersionOps, DeployOps):
    def __init__(self, config: AgentConfig, executor: Executor, journal: Journal) -> None:
        self.config = config
        self.executor = executor
        self.journal = journal
        self.pools: dict[str, Pool] = {}  # the active version of each function
        self.loaded: dict[str, dict[str, Pool]] = {}  # every version in memory, by name then digest
        self.calls = CallRunner(journal, self.count, self._stop_cause)
        self.workers = Workers(config, executor, self.count, self._artifact)
        self.started_at = time.time()
        self.counters: dict[str, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._fills: dict[str, asyncio.Lock] = {}
        self._claims: Counter[str] = Counter()
        self.allow = AllowList(config.authorized_dir)  # the server's ZAP provider and per-request check

    # lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        removed = await asyncio.to_thread(self.executor.remove_all)
        self.count("leftover_containers_removed", removed)
        self.workers.sockets.sweep()  # after the containers: their folders go with them
        self.count("stale_temp_files_removed", await asyncio.to_thread(store.sweep, self.config.artifacts_dir))
        for spec in self.journal.functions():
            # The runner ships with this agent: an upgrade must not keep an old one in use.
            spec["runner_volume"] = await self._runner_volume(spec["image"])
            pool = self._install_pool(spec)
            if spec["preload"] == "function" and int(spec["min_warm"]) > 0:
                self.spawn(pool.prewarm(int(spec["min_warm"])))
            if spec["preload"] == "runtime":
                self.workers.stem_pool(spec).refill()
                self.spawn(self.workers.cache_deps(spec.get("deps_volume"), spec["image"]))
        for call in self.journal.unfinished():  # left by a previous run of this agent
            if call["status"] == "PENDING":  # accepted, never started: run it now, on its own version
                try:
                    held = await self._version_pool(call["function"], call["digest"])
                except AgentFailure:
                    held = None
                if held is not None:
                    self.spawn(self.calls.run(held, call))
                    continue
            call.update(status="LOST", finished_at=time.time(),
                        error="the agent stopped while this call was running; it was not run again")
            self.journal.accept(call)

    async def stop(self, remove_containers: bool = True, drain: float = 30.0) -> None:
        """Orderly stop: calls inside containers finish (bounded); queued async calls wait."""
        for pool in self.all_pools():
            pool.closed = True  # no new leases; queued callers are told below
        await self.calls.drain(drain)
        for pool in self.all_pools():
            await pool.close()
        await self.workers.close()
        if remove_containers:
            await asyncio.to_thread(self.executor.remove_all)
        await self.journal.group.settle()  # the ends of calls drained above, on disk
        self.journal.flush()

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # operations ----------------------------------------------------------------
    async def op_hello(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hello()

    def hello(self) -> dict[str, Any]:
        """Answered by the server without a task: core asks it before every call."""
        return {"agent": __version__, "protocol": VERSION, "node": self.config.name}

    async def op_status(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "agent": __version__, "node": self.config.name, "running": self.calls.running,
            "cpus": os.cpu_count() or 1, "uptime_s": round(time.time() - self.started_at, 1),
            "warm": {n: sum(len(p.idle) for p in v.values()) for n, v in self.loaded.items()},
            "containers": {n: sum(p.size for p in v.values()) for n, v in self.loaded.items()},
            "functions": {n: p.spec["digest"] for n, p in self.pools.items()},
            "versions": _versions(self.journal.versions()),
            "stem_cells": {k: len(s.idle) for k, s in self.workers.stems.items()},
            "calls": self.journal.counts(), "counters": dict(self.counters),
        }

    async def op_invoke(self, args: dict[str, Any]) -> dict[str, Any]:
        pool = await self._pool_for(args)
        call = self._new_call(pool, args)
        if call["is_async"]:
            await self.calls.accept(call)  # durable before we say yes (shares its fsync with others)
            self.spawn(self.calls.run(pool, call))
            return {"call_id": call["id"], "status": "PENDING", "accepted_at": call["accepted_at"]}
        await self.calls.run(pool, call)
        call.pop("http", None)
        return call

    def warm_invoke(self, args: dict[str, Any], reply: Callable[[dict[str, Any]], None]) -> bool:
        """A sync invoke that an idle warm worker can take now, run by callbacks from the
        server's receive to `reply(call)` (no task, no future); False: use `op_invoke`."""
        if args.get("async"):
            return False
        name, digest = str(args.get("function")), args.get("digest")
        pool = self.loaded.get(name, {}).get(str(digest)) if digest else self.pools.get(name)
        if pool is None:  # not in memory (a version after a restart...): the coroutine path loads it
            return False
        lease = pool.take_idle()
        if lease is None:
            return False
        call = self._new_call(pool, args)
        self.count("warm_callback_calls")

        def finished() -> None:
            call.pop("http", None)
            reply(call)

        self.calls.start_warm(pool, lease, call, finished)
        return True

    async def _pool_for(self, args: dict[str, Any]) -> Pool:
        """The pool of the version asked for (`digest`), else of the active version."""
        name, digest = str(args.get("function")), args.get("digest")
        pool = self.pools.get(name)
        if digest and (pool is not None or self.journal.versions(name)):
            return await self._version_pool(name, str(digest))
        if pool is None:
            raise AgentFailure(E_NOT_FOUND, f"function {args.get('function')!r} is not deployed on node "
                               f"{self.config.name}", "deploy it with: faasctl fn deploy")
        return pool

    @staticmethod
    def _new_call(pool: Pool, args: dict[str, Any]) -> dict[str, Any]:
        is_async = bool(args.get("async"))
        call = {"id": str(args.get("call_id") or os.urandom(8).hex()), "function": pool.spec["name"],
                "digest": pool.spec["digest"], "params": args.get("params"), "status": "PENDING",
                "is_async": is_async, "retries": int(args.get("retries") or 0) if is_async else 0,
                "accepted_at": time.time()}
        if isinstance(args.get("http"), dict):
            call["http"] = args["http"]  # passed to the runner, never journalled nor sent back
        return call

    async def op_operators(self, args: dict[str, Any]) -> dict[str, Any]:
        """`keys` (name to z85 key): exactly these operators may send requests from now on."""
        keys = args.get("keys")
        if keys is not None:
            if not isinstance(keys, dict):
                raise AgentFailure(E_BAD_REQUEST, "operators: 'keys' must map names to public keys")
            self.count("operator_sets")
            return {**self.allow.replace({str(k): str(v) for k, v in keys.items()}), "keys": sorted(self.allow.users)}
        self.allow.reload()  # the folder, if it changed (`faasctl-agent authorize`)
        return {"authorized": len(self.allow.users), "keys": sorted(self.allow.users)}

    async def op_call(self, args: dict[str, Any]) -> dict[str, Any]:
        call = self.journal.get(str(args.get("call_id")))
        if call is None:
            raise AgentFailure(E_NOT_FOUND, f"no call {args.get('call_id')!r} on node {self.config.name}")
        return call

    # internals -------------------------------------------------------------------
    def _artifact(self, digest: str) -> bytes:
        return store.read(self.config.artifacts_dir, digest, self.config.name)

    async def _stop_cause(self, cid: str, spec: dict[str, Any]) -> str:
        return await asyncio.to_thread(self.executor.stop_cause, cid, int(spec["memory_mb"]))

    def _install_pool(self, spec: dict[str, Any], active: bool = True) -> Pool:
        async def start() -> tuple[Worker, str]:
            if spec["preload"] == "runtime" and not spec["network"]:
                worker = await self.workers.from_stem(spec)
                if worker is not None:
                    return worker, "prewarm"
            return await self.workers.start(spec), "cold"

        async def stop(worker: Worker) -> None:
            worker.channel.close()
            await asyncio.to_thread(self.executor.remove, worker.cid)

        pool = Pool(spec, start, stop)
        self.loaded.setdefault(spec["name"], {})[spec["digest"]] = pool
        if active:
            self._activate(pool)
        else:
            pool.retired = True
        return pool

    def _remove_containers_of(self, name: str) -> None:
        for c in self.executor.ours(**{LABEL_FUNCTION: name}):
            self.executor.remove(c["Id"])

    def reap(self) -> None:
        now = time.monotonic()
        for pool in self.all_pools():
            pool.reap(now)
        self.journal.flush()

    async def call_op(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise AgentFailure(E_BAD_REQUEST, f"operation {op!r} is not handled by this agent")
        result: dict[str, Any] = await handler(args)
        return result


def _versions(rows: list[tuple[str, str, dict[str, Any], float]]) -> dict[str, list[str]]:
    """The digests each function has on this node, oldest first."""
    found: dict[str, list[str]] = {}
    for name, digest, _, _ in rows:
        found.setdefault(name, []).append(digest)
    return found
