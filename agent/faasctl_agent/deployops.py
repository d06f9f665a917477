"""Deploying on the agent: runtime images, code, runner and dependency volumes, pools.

Kept apart from service.py, which mixes this in, so the call path reads on its own. A
volume is trusted only once the journal marks it complete (a fill cut short is redone
from scratch), and dependencies are installed once per key (deps.py) and then cached.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import archive, deps, deps_node, kinds, languages, names, policy
from .executor import Executor
from .journal import Journal
from .pool import Pool
from .protocol import E_BAD_ARCHIVE, E_BAD_REQUEST, AgentFailure
from .secretops import SecretOps


class DeployOps(SecretOps):
    executor: Executor
    journal: Journal
    _fills: dict[str, asyncio.Lock]
    _claims: Counter[str]
    loaded: dict[str, dict[str, Pool]]

    def _artifact(self, digest: str) -> bytes:
        raise NotImplementedError

    def _install_pool(self, spec: dict[str, Any], active: bool = True) -> Pool:
        raise NotImplementedError

    if TYPE_CHECKING:  # versionops' own (a stub here would shadow them in the MRO)
        def _activate(self, pool: Pool) -> None: ...

        def _unload(self, pool: Pool) -> None: ...

        def active_digest(self, name: str) -> str | None: ...

    def _remove_containers_of(self, name: str) -> None:
        raise NotImplementedError

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
        """Load a version; with `activate` (the default) it becomes the one calls without a
        digest get, reusing its pool (warm containers and all) when it is still loaded."""
        name, digest, runtime = args.get("function"), args.get("digest"), args.get("runtime") or {}
        if not names.valid_name(name) or not isinstance(digest, str) or not names.valid_digest(digest):
            raise AgentFailure(E_BAD_REQUEST, "deploy needs a valid function name and artifact digest")
        if args.get("kind") and args["kind"] not in kinds.KINDS:
            raise AgentFailure(E_BAD_REQUEST, f"deploy refused: kind {args['kind']!r} is not known to this agent",
                               "upgrade the node's agent: faasctl node upgrade NAME")
        with self._claimed(digest, str(runtime.get("image") or "")) as claim:
            spec, deps_state, entries = await self._load(str(name), digest, runtime, args, claim)
        active = self.pools.get(str(name))
        activate = bool(args.get("activate", True)) or (active is not None and active.spec["digest"] == digest)
        self.journal.save_function(str(name), digest, spec, active=activate)
        pool = self.loaded.get(str(name), {}).get(digest)
        reused = pool is not None and not pool.closed and _same(pool.spec, spec)
        if pool is not None and not reused:
            self._unload(pool)  # same code, new settings: its calls finish on the old ones
            pool = None
        if activate:
            if pool is None:
                pool = self._install_pool(spec)
            self._activate(pool)
            await self._prepare(pool, spec, entries)
        return {"function": name, "digest": digest, "dependencies": deps_state, "warm": len(pool.idle) if pool else 0,
                "kind": spec["kind"],
                "configured": True,  # env and secrets applied: an older agent would ignore them silently
                "runner": spec["runner"],  # an agent older than runners says none: faasctl tells it apart
                "reused": reused and activate, "active": self.active_digest(str(name)),
                "versions": [d for _, d, _, _ in self.journal.versions(str(name))]}

    async def _load(self, name: str, digest: str, runtime: dict[str, Any], args: dict[str, Any],
                    claim: Callable[[str], None]) -> tuple[dict[str, Any], str, list[archive.Entry]]:
        """Everything a version needs on this node (image, volumes), and its spec."""
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
        code_volume = f"faasctl-{self.executor.node}-code-{digest[:16]}"
        claim(code_volume)
        await self._filled(code_volume, image, lambda: archive.pack(entries, False))
        runner_volume = await self._runner_volume(image)
        deps_volume, deps_state = await self._dependencies(entries, runtime, image, path, code_volume, claim)
        mode = args.get("mode", "command")
        spec.update(name=name, digest=digest, image=image, path=path, mode=mode,
                    kind=args.get("kind") or ("native" if mode == "handler" else "command"),
                    version=str(args.get("version") or ""),
                    run=runtime.get("run", ""), handler=args.get("handler") or runtime.get("handler", ""),
                    runner=runner, code_volume=code_volume, runner_volume=runner_volume, deps_volume=deps_volume)
        return spec, deps_state, entries

    async def _prepare(self, pool: Pool, spec: dict[str, Any], entries: list[archive.Entry]) -> None:
        """The active version's warm minimum, or its stem cells and their tars."""
        if spec["preload"] == "function" and int(spec["min_warm"]) > 0:
            await pool.prewarm(int(spec["min_warm"]))
        if spec["preload"] == "runtime":  # stem cells get code and deps as tars: make them now
            self.workers.tars[str(spec["digest"])] = archive.pack(entries, compress=False)
            await self.workers.cache_deps(spec["deps_volume"], spec["image"])
            self.workers.stem_pool(spec).refill()

    async def op_remove_function(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every version of the function goes (containers, pools, journal specs)."""
        name = str(args.get("function"))
        self.pools.pop(name, None)
        versions = self.loaded.pop(name, {})
        for pool in versions.values():
            await pool.close()
        await asyncio.to_thread(self._remove_containers_of, name)
        self.journal.forget_function(name)
        return {"removed": bool(versions)}

    # internals -------------------------------------------------------------------
    @contextmanager
    def _claimed(self, *first: str) -> Iterator[Callable[[str], None]]:
        """Names this deploy uses, kept from forget_versions' sweep until it ends."""
        held: list[str] = []

        def claim(name: str) -> None:
            self._claims[name] += 1
            held.append(name)

        for name in first:
            claim(name)
        try:
            yield claim
        finally:
            self._claims.subtract(held)
            for name in held:
                if self._claims[name] <= 0:
                    del self._claims[name]

    def _policy(self, args: dict[str, Any]) -> dict[str, Any]:
        """This node's defaults overlaid with the deploy's policy, checked by the one model."""
        try:
            given = policy.parse({k: args[k] for k in policy.AGENT_KEYS if k in args})
        except policy.PolicyError as exc:
            raise AgentFailure(E_BAD_REQUEST, f"deploy refused: {exc.message}", exc.hint) from exc
        return {k: given.get(k, self.config.defaults[k]) for k in policy.AGENT_KEYS}

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

    async def _dependencies(self, entries: list[archive.Entry], runtime: dict[str, Any], image: str,
                            path: str, code_volume: str, claim: Callable[[str], None]) -> tuple[str | None, str]:
        command = runtime.get("dependencies") or ""
        image_id = await asyncio.to_thread(self.executor.image_id, image)
        try:
            key = deps.install_key(entries, str(image_id), command, languages.language(runtime.get("runner")).name)
        except deps_node.ManifestError as exc:
            raise AgentFailure(E_BAD_ARCHIVE, f"deploy refused: {exc}", exc.hint) from exc
        if key is None or not command:
            return None, "none"
        volume = f"faasctl-{self.executor.node}-deps-{key[:16]}"
        claim(volume)
        known = self.journal.deps_volume(key)
        if known is not None:
            claim(known)
            async with self._fills.setdefault(known, asyncio.Lock()):  # not while a sweep removes it
                exists: bool = await asyncio.to_thread(self.executor.volume_exists, known)
            if exists:
                return known, "cached"
        async with self._fills.setdefault(volume, asyncio.Lock()):
            await asyncio.to_thread(self.executor.reinstall_deps, image, code_volume, path, command, volume)
            self.journal.save_deps(key, volume)
        return volume, "installed"


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two specs alike as the journal would store them (JSON: lists and tuples are one)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
