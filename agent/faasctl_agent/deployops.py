"""Deploying on the agent: runtime images, code, runner and dependency volumes, pools.

Kept apart from service.py, which mixes this in, so the call path reads on its own. A
volume is trusted only once the journal marks it complete (a fill cut short is redone
from scratch), and dependencies are installed once per key (deps.py) and then cached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

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

    def _artifact(self, digest: str) -> bytes:
        raise NotImplementedError

    def _install_pool(self, spec: dict[str, Any]) -> Pool:
        raise NotImplementedError

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
