"""What the agent does for each operation: deploy, invoke, status and the rest.

The service owns the pools and the journal and is the only place that mixes them; the
server in front of it only moves messages. Blocking Docker work runs in threads so a
slow container start or dependency install never holds up a warm call.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from . import __version__, archive, deps, deps_node, kinds, languages, names, policy, store
from .config import AgentConfig
from .execution import CallRunner
from .executor import LABEL_FUNCTION, Executor
from .journal import Journal
from .pool import Pool, Worker
from .protocol import E_BAD_ARCHIVE, E_BAD_REQUEST, E_NOT_FOUND, VERSION, AgentFailure
from .secretops import SecretOps
from .workers import Workers


class Service(SecretOps):
    def __init__(self, config: AgentConfig, executor: Executor, journal: Journal) -> None:
        self.config = config
        self.executor = executor
        self.journal = journal
        self.pools: dict[str, Pool] = {}
        self.calls = CallRunner(journal, self.count, self._stop_cause)
        self.workers = Workers(config, executor, self.count, self._artifact)
        self.started_at = time.time()
        self.counters: dict[str, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._fills: dict[str, asyncio.Lock] = {}

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
            held = self.pools.get(call["function"])
            if call["status"] == "PENDING" and held is not None and held.spec["digest"] == call["digest"]:
                self.spawn(self.calls.run(held, call))  # accepted, never started: run it now
                continue
            call.update(status="LOST", finished_at=time.time(),
                        error="the agent stopped while this call was running; it was not run again")
            self.journal.accept(call)

    async def stop(self, remove_containers: bool = True, drain: float = 30.0) -> None:
        """Orderly stop: calls inside containers finish (bounded); queued async calls wait."""
        for pool in self.pools.values():
            pool.closed = True  # no new leases; queued callers are told below
        await self.calls.drain(drain)
        for pool in list(self.pools.values()):
            await pool.close()
        await self.workers.close()
        if remove_containers:
            await asyncio.to_thread(self.executor.remove_all)
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
            "warm": {n: len(p.idle) for n, p in self.pools.items()},
            "containers": {n: p.size for n, p in self.pools.items()},
            "functions": {n: p.spec["digest"] for n, p in self.pools.items()},
            "stem_cells": {k: len(s.idle) for k, s in self.workers.stems.items()},
            "calls": self.journal.counts(), "counters": dict(self.counters),
        }

    async def op_build_runtime(self, args: dict[str, Any]) -> dict[str, Any]:
        """Report how the image got here: present, pulled or built. With `carry_ok`, a node
        that can do neither answers `missing` (with why) so faasctl carries the image over."""
        tag = args["tag"] if args.get("context_digest") else args["image"]
        if await asyncio.to_thread(self.executor.image_id, tag):
            return {"image": tag, "id": await asyncio.to_thread(self.executor.image_id, tag), "how": "present"}
        context = self._artifact(args["context_digest"]) if args.get("context_digest") else None
        try:
            if context is not None:
                await asyncio.to_thread(self.executor.build, context, tag, args.get("base", ""),
                                        args.get("offline_base", ""))
            else:
                await asyncio.to_thread(self.executor.ensure_image, tag)
        except AgentFailure as exc:
            if not args.get("carry_ok"):
                raise
            return {"image": tag, "id": None, "how": "missing", "why": exc.message}
        how = "built" if context is not None else "pulled"
        return {"image": tag, "id": await asyncio.to_thread(self.executor.image_id, tag), "how": how}

    async def op_deploy(self, args: dict[str, Any]) -> dict[str, Any]:
        name, digest, runtime = args.get("function"), args.get("digest"), args.get("runtime") or {}
        if not names.valid_name(name) or not isinstance(digest, str) or not names.valid_digest(digest):
            raise AgentFailure(E_BAD_REQUEST, "deploy needs a valid function name and artifact digest")
        if args.get("kind") and args["kind"] not in kinds.KINDS:
            raise AgentFailure(E_BAD_REQUEST, f"deploy refused: kind {args['kind']!r} is not known to this agent",
                               "upgrade the node's agent: faasctl node upgrade NAME")
        spec = self._policy(args)
        spec.update(self.function_config(args))  # env and secret names (secretops.py)
        data = self._artifact(digest)
        try:
            entries = archive.read_entries(data)
        except archive.ArchiveError as exc:
            raise AgentFailure(E_BAD_ARCHIVE, f"archive refused: {exc}") from exc
        image, path = runtime["image"], runtime.get("path") or "/ws"
        runner = languages.language(runtime.get("runner")).name
        await asyncio.to_thread(self.executor.ensure_image, image)
        code_volume = await self._filled(f"faasctl-{self.executor.node}-code-{digest[:16]}", image,
                                         lambda: archive.pack(entries, False))
        runner_volume = await self._runner_volume(image)
        deps_volume, deps_state = await self._dependencies(entries, runtime, image, path, code_volume)
        mode = args.get("mode", "command")
        spec.update(name=name, digest=digest, image=image, path=path, mode=mode,
                    kind=args.get("kind") or ("native" if mode == "handler" else "command"),
                    version=str(args.get("version") or ""),
                    run=runtime.get("run", ""), handler=args.get("handler") or runtime.get("handler", ""),
                    runner=runner, code_volume=code_volume, runner_volume=runner_volume, deps_volume=deps_volume)
        self.journal.save_function(str(name), str(digest), spec)
        old = self.pools.get(str(name))
        pool = self._install_pool(spec)
        if old is not None:
            self.spawn(old.close())
        if spec["preload"] == "function" and int(spec["min_warm"]) > 0:
            await pool.prewarm(int(spec["min_warm"]))
        if spec["preload"] == "runtime":  # stem cells get code and deps as tars: make them now
            self.workers.tars[str(digest)] = archive.pack(entries, compress=False)
            await self.workers.cache_deps(deps_volume, image)
            self.workers.stem_pool(spec).refill()
        return {"function": name, "digest": digest, "dependencies": deps_state, "warm": len(pool.idle),
                "kind": spec["kind"],
                "configured": True,  # env and secrets applied: an older agent would ignore them silently
                "runner": runner}  # an agent older than runners says none: faasctl tells it apart

    async def op_invoke(self, args: dict[str, Any]) -> dict[str, Any]:
        pool = self._pool_for(args)
        call = self._new_call(pool, args)
        if call["is_async"]:
            self.journal.accept(call)  # durable before we say yes
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
        pool = self.pools.get(str(args.get("function")))
        digest = args.get("digest")
        if pool is None or (digest and digest != pool.spec["digest"]):
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

    def _pool_for(self, args: dict[str, Any]) -> Pool:
        pool = self.pools.get(str(args.get("function")))
        if pool is None:
            raise AgentFailure(E_NOT_FOUND, f"function {args.get('function')!r} is not deployed on node "
                               f"{self.config.name}", "deploy it with: faasctl fn deploy")
        digest = args.get("digest")
        if digest and digest != pool.spec["digest"]:
            raise AgentFailure(E_NOT_FOUND, f"node {self.config.name} runs another version of "
                               f"{pool.spec['name']}", "redeploy the function to this node")
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

    async def op_call(self, args: dict[str, Any]) -> dict[str, Any]:
        call = self.journal.get(str(args.get("call_id")))
        if call is None:
            raise AgentFailure(E_NOT_FOUND, f"no call {args.get('call_id')!r} on node {self.config.name}")
        return call

    async def op_remove_function(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("function"))
        pool = self.pools.pop(name, None)
        if pool is not None:
            await pool.close()
        await asyncio.to_thread(self._remove_containers_of, name)
        self.journal.forget_function(name)
        return {"removed": pool is not None}

    # internals -------------------------------------------------------------------
    def _policy(self, args: dict[str, Any]) -> dict[str, Any]:
        """This node's defaults overlaid with the deploy's policy, checked by the one model."""
        try:
            given = policy.parse({k: args[k] for k in policy.AGENT_KEYS if k in args})
        except policy.PolicyError as exc:
            raise AgentFailure(E_BAD_REQUEST, f"deploy refused: {exc.message}", exc.hint) from exc
        return {k: given.get(k, self.config.defaults[k]) for k in policy.AGENT_KEYS}

    def _artifact(self, digest: str) -> bytes:
        return store.read(self.config.artifacts_dir, digest, self.config.name)

    async def _filled(self, name: str, image: str, tar: Callable[[], bytes]) -> str:
        """A volume filled to the end: one never marked complete is refilled from scratch."""
        async with self._fills.setdefault(name, asyncio.Lock()):
            if self.journal.volume_complete(name) and await asyncio.to_thread(self.executor.volume_exists, name):
                return name
            self.journal.mark_volume(name, complete=False)
            await asyncio.to_thread(self.executor.refill_volume, name, image, tar())
            self.journal.mark_volume(name)
            return name

    async def _runner_volume(self, image: str) -> str:
        name, tar = self.executor.runner_source()
        return await self._filled(name, image, lambda: tar)

    async def _stop_cause(self, cid: str, spec: dict[str, Any]) -> str:
        return await asyncio.to_thread(self.executor.stop_cause, cid, int(spec["memory_mb"]))

    async def _dependencies(self, entries: list[archive.Entry], runtime: dict[str, Any], image: str,
                            path: str, code_volume: str) -> tuple[str | None, str]:
        command = runtime.get("dependencies") or ""
        image_id = await asyncio.to_thread(self.executor.image_id, image)
        try:
            key = deps.install_key(entries, str(image_id), command, languages.language(runtime.get("runner")).name)
        except deps_node.ManifestError as exc:
            raise AgentFailure(E_BAD_ARCHIVE, f"deploy refused: {exc}", exc.hint) from exc
        if key is None or not command:
            return None, "none"
        known = self.journal.deps_volume(key)
        if known is not None:
            exists: bool = await asyncio.to_thread(self.executor.volume_exists, known)
            if exists:
                return known, "cached"
        volume = f"faasctl-{self.executor.node}-deps-{key[:16]}"
        async with self._fills.setdefault(volume, asyncio.Lock()):
            await asyncio.to_thread(self.executor.reinstall_deps, image, code_volume, path, command, volume)
            self.journal.save_deps(key, volume)
        return volume, "installed"

    def _install_pool(self, spec: dict[str, Any]) -> Pool:
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
        self.pools[spec["name"]] = pool
        return pool

    def _remove_containers_of(self, name: str) -> None:
        for c in self.executor.ours(**{LABEL_FUNCTION: name}):
            self.executor.remove(c["Id"])

    def reap(self) -> None:
        now = time.monotonic()
        for pool in self.pools.values():
            pool.reap(now)
        self.journal.flush()

    async def call_op(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise AgentFailure(E_BAD_REQUEST, f"operation {op!r} is not handled by this agent")
        result: dict[str, Any] = await handler(args)
        return result
