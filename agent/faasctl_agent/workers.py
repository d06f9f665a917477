"""Starting function containers: cold, or by specialising a stem cell.

Split from the service because it is the one part that turns a function's spec into a
running, initialised runner; the service decides when, this module decides how.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from . import archive, languages
from .channel import Channel, RunnerChannel, RunnerGone
from .config import AgentConfig
from .executor import FUNCTION_USER, LABEL_FUNCTION, ContainerSpec, Executor
from .pool import Worker
from .protocol import E_RUNTIME, AgentFailure
from .secretstore import SecretStore
from .sockchannel import SocketChannel
from .sockdirs import Listener, Sockets, SocketUnseen
from .stems import StemPool

log = logging.getLogger("faasctl_agent")


def kind_init(spec: dict[str, Any]) -> dict[str, Any]:
    """What a handler kind needs of its function at init (runner/faasctl_kinds.py, runner.js's lambda.js): a stem
    cell's environment cannot carry it, so the runner sets Lambda's variables from this."""
    if spec["mode"] != "handler":
        return {}
    return {"kind": spec.get("kind") or "native",
            "function": {"name": spec["name"], "version": str(spec.get("version") or ""),
                         "memory_mb": int(spec["memory_mb"]), "timeout": float(spec["timeout"])}}


class LoadFailed(AgentFailure):
    """The runner could not load the function (its import or handler failed)."""


class Workers:
    def __init__(self, config: AgentConfig, executor: Executor, count: Callable[..., None],
                 artifact: Callable[[str], bytes]) -> None:
        self.config = config
        self.executor = executor
        self.count = count
        self.artifact = artifact
        self.stems: dict[str, StemPool] = {}
        self.sockets = Sockets(config.sockets_dir)
        self.tars: dict[str, bytes] = {}  # code (by digest) and deps (by volume) for stem cells
        self.secrets = SecretStore(config.secrets_dir)

    async def cache_deps(self, volume: str | None, image: str) -> None:
        if volume and volume not in self.tars:
            self.tars[volume] = await asyncio.to_thread(self.executor.export_volume, volume, image)

    async def close(self) -> None:
        for stems in self.stems.values():
            await stems.close()

    def stem_pool(self, spec: dict[str, Any]) -> StemPool:
        runner = languages.language(spec.get("runner"))
        key = f"{spec['image']}|{spec['path']}|{runner.name}"
        if key not in self.stems:
            d = self.config.defaults
            stem_spec = ContainerSpec(image=spec["image"], path=spec["path"], code_volume=None,
                                      runner_volume=spec["runner_volume"], memory_mb=int(d["memory_mb"]),
                                      cpus=float(d["cpus"]), pids=int(d["pids"]), labels={"faasctl.role": "stem"},
                                      command=runner.command)

            async def start() -> Worker:
                return await self.start(None, stem_spec)

            async def stop(worker: Worker) -> None:
                worker.channel.close()
                await asyncio.to_thread(self.executor.remove, worker.cid)

            self.stems[key] = StemPool(key, int(spec.get("stem_cells", d["stem_cells"])), start, stop)
        return self.stems[key]

    async def from_stem(self, spec: dict[str, Any]) -> Worker | None:
        """Specialise a ready stem cell for this function, or None to start cold."""
        worker = self.stem_pool(spec).take()
        if worker is None:
            return None
        try:
            code = self.tars.get(spec["digest"])
            if code is None:
                code = archive.pack(archive.read_entries(self.artifact(spec["digest"])), compress=False)
                self.tars[spec["digest"]] = code
            deps = None
            if spec.get("deps_volume"):
                deps = self.tars.get(spec["deps_volume"])
                if deps is None:
                    deps = await asyncio.to_thread(self.executor.export_volume, spec["deps_volume"], spec["image"])
                    self.tars[spec["deps_volume"]] = deps
            d = self.config.defaults
            limits = (int(spec["memory_mb"]), float(spec["cpus"]), int(spec["pids"]))
            if limits != (int(d["memory_mb"]), float(d["cpus"]), int(d["pids"])):
                await asyncio.to_thread(self.executor.update_limits, worker.cid, *limits)
            await self.init_runner(worker.channel, spec, {
                "code": base64.b64encode(code).decode(), "user": FUNCTION_USER,
                **({"deps": base64.b64encode(deps).decode()} if deps else {})})
        except Exception as exc:  # a broken stem cell costs a cold start, not the call
            self.count("stem_failures")
            worker.channel.close()
            await asyncio.to_thread(self.executor.remove, worker.cid)
            if isinstance(exc, LoadFailed):  # the function's own code: a cold start fails alike
                raise
            log.warning("stem cell for %s failed, starting cold: %r", spec["name"], exc)
            return None
        self.count("stems_used")
        return worker

    async def init_runner(self, channel: Channel, spec: dict[str, Any],
                           extra: dict[str, Any] | None = None) -> None:
        reply = await channel.request({"op": "init", "mode": spec["mode"], "path": spec["path"],
                                       "run": spec["run"], "handler": spec["handler"], **kind_init(spec),
                                       **(extra or {}), **self.configuration(spec)}, 60)
        if not reply.get("ok"):
            raise LoadFailed(E_RUNTIME, f"function {spec['name']} failed to load",
                               str(reply.get("error", "")).strip()[-1500:])

    def configuration(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The function's environment and its secrets' current values, for the init message
        only (read at each start: a rotated value reaches every container started after it)."""
        config: dict[str, Any] = {"env": spec["env"]} if spec.get("env") else {}
        if spec.get("secrets"):  # such a container starts as root: the runner drops to the user
            config.update(secrets=self.secrets.values(list(spec["secrets"]), self.config.name), user=FUNCTION_USER)
        return config

    async def start(self, spec: dict[str, Any] | None, cspec: ContainerSpec | None = None) -> Worker:
        """Create, attach and start a container; initialise its runner unless it is a stem cell."""
        if cspec is None:
            assert spec is not None
            cspec = ContainerSpec(
                image=spec["image"], path=spec["path"], code_volume=spec["code_volume"],
                runner_volume=spec["runner_volume"], deps_volume=spec.get("deps_volume"),
                memory_mb=int(spec["memory_mb"]), cpus=float(spec["cpus"]), pids=int(spec["pids"]),
                network=bool(spec["network"]), secrets=bool(spec.get("secrets")),
                labels={LABEL_FUNCTION: spec["name"], "faasctl.digest": spec["digest"][:16]},
                command=languages.language(spec.get("runner")).command,
            )
        listener = self.sockets.listen()
        try:
            cid, listener = await self._create(cspec, listener)
            try:
                attach = await RunnerChannel.attach(cid)
                await asyncio.to_thread(self.executor.start, cid)
                channel = await self._connected(attach, listener)
                if spec is not None:
                    await self.init_runner(channel, spec)
            except (RunnerGone, asyncio.TimeoutError, OSError) as exc:
                await asyncio.to_thread(self.executor.remove, cid)
                what = spec["name"] if spec else "a stem cell"
                raise AgentFailure(E_RUNTIME, f"the container of {what} did not start", str(exc)[-1500:]) from exc
            except BaseException:
                await asyncio.to_thread(self.executor.remove, cid)
                raise
        finally:
            if listener is not None:
                listener.close()
        self.count("containers_started")
        self.count(f"channels_{channel.kind}")
        return Worker(cid, channel)

    async def _create(self, cspec: ContainerSpec, listener: Listener | None) -> tuple[str, Listener | None]:
        """The container, with its socket folder mounted when the engine can see it."""
        if listener is not None:
            try:
                with_socket = dataclasses.replace(cspec, socket_dir=str(listener.folder))
                return await asyncio.to_thread(self.executor.create, with_socket), listener
            except SocketUnseen as exc:
                listener.close()
                self.sockets.disable(f"the Docker engine does not see {self.sockets.root} ({exc})")
        return await asyncio.to_thread(self.executor.create, cspec), None

    async def _connected(self, attach: RunnerChannel, listener: Listener | None) -> Channel:
        """The runner's channel once it said ready: its socket if it connected, else attach."""
        if listener is not None:
            accepted = asyncio.ensure_future(listener.accept())
            either: list[asyncio.Future[Any]] = [accepted, attach.ready]
            try:
                await asyncio.wait(either, timeout=60, return_when=asyncio.FIRST_COMPLETED)
            finally:
                accepted.cancel()
            if accepted.done() and not accepted.cancelled() and accepted.exception() is None:
                attach.ready.cancel()  # the runner speaks on its socket; attach only brings stderr
                channel = await SocketChannel.accept(accepted.result(), attach)
                await asyncio.wait_for(asyncio.shield(channel.ready), 60)
                return channel
        await asyncio.wait_for(asyncio.shield(attach.ready), 60)
        return attach
