"""Several versions of one function on a node (issue 14): which pool a call goes to,
what the node holds, and dropping old versions with what only they used.

The service keeps a pool per loaded version (`loaded`, by name then digest) and points
each function at its active one (`pools`). A version that stops being active is retired,
not closed: calls addressed to its digest still reach it, its running calls finish, and
its idle containers go at the idle timeout, so a rollback within that time reuses them.
A version the journal keeps but memory does not (after a restart) gets its pool at its
first call. Mixed into the service like deployops and secretops.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from . import names, sweep
from .config import AgentConfig
from .executor import Executor
from .journal import Journal
from .pool import Pool
from .protocol import E_BAD_REQUEST, E_NOT_FOUND, AgentFailure
from .workers import Workers

DRAIN_CAP_S = 120.0  # the longest forget_versions waits for a dropped version's calls to end


class VersionOps:
    config: AgentConfig
    executor: Executor
    journal: Journal
    pools: dict[str, Pool]  # the active version of each function
    loaded: dict[str, dict[str, Pool]]  # every version in memory
    workers: Workers
    _fills: dict[str, asyncio.Lock]
    _claims: Counter[str]  # digests, volumes and images a deploy in flight names: never swept

    if TYPE_CHECKING:  # the service's and deployops' own (a stub here would shadow them in the MRO)
        def _install_pool(self, spec: dict[str, Any], active: bool = True) -> Pool: ...

        async def _runner_volume(self, image: str) -> str: ...

        def spawn(self, coro: Any) -> None: ...

    # which pool ------------------------------------------------------------------
    def all_pools(self) -> list[Pool]:
        return [pool for versions in self.loaded.values() for pool in versions.values()]

    def active_digest(self, name: str) -> str | None:
        pool = self.pools.get(name)
        return str(pool.spec["digest"]) if pool is not None else self.journal.active(name)

    def _activate(self, pool: Pool) -> None:
        name = pool.spec["name"]
        previous = self.pools.get(name)
        if previous is not None and previous is not pool:
            previous.retired = True  # keeps serving its digest; its idle containers time out
        pool.retired = False
        self.pools[name] = pool

    def _unload(self, pool: Pool) -> None:
        """Take a version's pool out of memory and close it: running calls finish, queued ones are told."""
        self._detach(pool)
        self.spawn(pool.close())

    def _detach(self, pool: Pool) -> None:
        name, digest = pool.spec["name"], pool.spec["digest"]
        versions = self.loaded.get(name, {})
        if versions.get(digest) is pool:
            del versions[digest]
        if not versions:
            self.loaded.pop(name, None)
        if self.pools.get(name) is pool:
            del self.pools[name]

    async def _version_pool(self, name: str, digest: str) -> Pool:
        """The pool of one version, installed from the journal's spec if not in memory."""
        pool = self.loaded.get(name, {}).get(digest)
        if pool is not None and not pool.closed:
            return pool
        spec = self.journal.version(name, digest)
        if spec is None or not self.journal.volume_complete(str(spec.get("code_volume"))):
            raise AgentFailure(E_NOT_FOUND, f"version {digest[:12]} of {name} is not on node {self.config.name}",
                               "deploy it again: faasctl fn deploy, or faasctl fn rollback")
        spec["runner_volume"] = await self._runner_volume(spec["image"])  # this agent's runner
        pool = self.loaded.get(name, {}).get(digest)  # another call may have installed it meanwhile
        if pool is not None and not pool.closed:
            return pool
        return self._install_pool(spec, active=self.active_digest(name) == digest and name not in self.pools)

    # operations --------------------------------------------------------------------
    async def op_versions(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("function")
        found: dict[str, Any] = {}
        for fname, digest, spec, saved_at in self.journal.versions(str(name) if name else None):
            entry = found.setdefault(fname, {"active": self.active_digest(fname), "versions": {}})
            pool = self.loaded.get(fname, {}).get(digest)
            entry["versions"][digest] = {
                "version": str(spec.get("version") or ""), "warm": len(pool.idle) if pool else 0,
                "busy": pool.busy if pool else 0, "loaded": pool is not None, "saved_at": saved_at}
        return {"functions": found}

    async def op_forget_versions(self, args: dict[str, Any]) -> dict[str, Any]:
        name, keep, keep_images = args.get("function"), args.get("keep") or [], args.get("keep_images") or []
        if not names.valid_name(name) or not _strings(keep) or not _strings(keep_images):
            raise AgentFailure(E_BAD_REQUEST, "forget_versions needs a valid function name and lists of digests "
                               "and image references", "send it as faasctl does")
        kept = set(keep) | {str(self.active_digest(str(name)))}  # never the active one, even if omitted
        dropped: list[dict[str, Any]] = []
        closing: list[Pool] = []
        for _, digest, spec, _ in self.journal.versions(str(name)):
            if digest in kept or digest == self.active_digest(str(name)):  # activated while we awaited
                continue
            pool = self.loaded.get(str(name), {}).get(digest)
            if pool is not None:
                self._detach(pool)
                await pool.close()  # idle containers removed now; busy ones after their call
                closing.append(pool)
            self.journal.forget_version(str(name), digest)
            self.workers.tars.pop(digest, None)
            dropped.append(spec)
        await _drained(closing)  # a volume in use cannot be removed: let running calls end first
        plan = sweep.plan(dropped, self._remaining(), keep_images, self._claims)
        removed, freed = await self._sweep(plan)
        return {"dropped": [s["digest"] for s in dropped], "removed": removed,
                "freed_bytes": {**freed, "total": sum(freed.values())}}

    # the sweep ---------------------------------------------------------------------------
    def _remaining(self) -> list[dict[str, Any]]:
        return [spec for _, _, spec, _ in self.journal.versions()] + [p.spec for p in self.all_pools()]

    async def _sweep(self, plan: sweep.Plan) -> tuple[dict[str, list[str]], dict[str, int]]:
        removed: dict[str, list[str]] = {"artifacts": [], "volumes": [], "images": []}
        freed = {"artifacts": 0, "volumes": 0, "images": 0}
        for digest in plan.artifacts:
            path = self.config.artifacts_dir / f"{digest}.tar.gz"
            if not sweep.still_free(digest, self._remaining(), self._claims) or not path.exists():
                continue
            size = path.stat().st_size
            path.unlink()
            removed["artifacts"].append(digest)
            freed["artifacts"] += size
        if not plan.volumes and not plan.images:
            return removed, freed
        volume_sizes, image_sizes = await asyncio.to_thread(self.executor.disk_usage)  # before removing
        for volume in plan.volumes:
            async with self._fills.setdefault(volume, asyncio.Lock()):  # a deploy filling it waits
                if not sweep.still_free(volume, self._remaining(), self._claims):
                    continue
                try:
                    await asyncio.to_thread(self.executor.remove_volume, volume)
                except AgentFailure:  # still mounted by a container: left for the engine's owner
                    continue
                self.journal.forget_volume(volume)
                self.workers.tars.pop(volume, None)  # a stem cell's copy of a dependency volume
            removed["volumes"].append(volume)
            freed["volumes"] += volume_sizes.get(volume, 0)
        for image in plan.images:
            if not sweep.still_free(image, self._remaining(), self._claims):
                continue
            gone = await asyncio.to_thread(self.executor.remove_built_image, image)
            if gone is not None:
                removed["images"].append(image)
                freed["images"] += image_sizes.get(gone[0], 0) if gone[1] else 0  # a name alone frees nothing
        return removed, freed


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


async def _drained(pools: list[Pool]) -> None:
    """Wait (bounded by the longest timeout among them) until closing pools hold no container."""
    if not pools:
        return
    deadline = time.monotonic() + min(DRAIN_CAP_S, max(float(p.spec["timeout"]) for p in pools) + 10)
    while any(p.size for p in pools) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
