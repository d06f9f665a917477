"""The agent's side of issue 13: a function's environment and secrets, and rotation.

Kept apart from service.py (which mixes this in) so the call path stays as it was. A
deploy names its secrets; their values are stored here by `secret_put` before it, in
the node's SecretStore, and read at each container start. `secret_put --restart`
retires the containers that hold the old value: idle ones at once, busy ones after
their call, so running calls finish.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from .config import AgentConfig
from .fnconfig import ConfigError, check_env, check_secret_names
from .pool import Pool
from .protocol import E_BAD_REQUEST, E_NOT_FOUND, AgentFailure
from .workers import Workers


class SecretOps:
    config: AgentConfig
    pools: dict[str, Pool]
    workers: Workers

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        raise NotImplementedError

    if TYPE_CHECKING:  # versionops' own (a stub here would shadow it in the MRO)
        def all_pools(self) -> list[Pool]: ...

    def function_config(self, args: dict[str, Any]) -> dict[str, Any]:
        """A deploy's env and secret names, checked; every secret must be on this node."""
        try:
            env, names = check_env(args.get("env")), check_secret_names(args.get("secrets"))
        except ConfigError as exc:
            raise AgentFailure(E_BAD_REQUEST, f"deploy refused: {exc.message}", exc.hint) from exc
        for name in names:
            if not self.workers.secrets.has(name):
                raise AgentFailure(E_NOT_FOUND, f"secret {name} is not on node {self.config.name}",
                                   f"set it with `faasctl secret set {name}`; fn deploy sends the secrets it names")
        return {"env": env, "secrets": names}

    def _users(self, name: str) -> list[Pool]:
        return [p for p in self.all_pools() if name in (p.spec.get("secrets") or [])]  # every loaded version

    async def op_secret_put(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name"))
        try:
            value = base64.b64decode(str(args.get("value", "")), validate=True)
        except binascii.Error as exc:
            raise AgentFailure(E_BAD_REQUEST, f"the value of secret {name} is not base64",
                               "send it as faasctl does") from exc
        self.workers.secrets.put(name, value)
        users = self._users(name)
        recycled = 0
        if args.get("restart"):
            for pool in users:
                recycled += pool.recycle()
                if pool.spec["preload"] == "function" and int(pool.spec["min_warm"]) > 0 and not pool.retired:
                    self.spawn(pool.prewarm(int(pool.spec["min_warm"])))
        return {"name": name, "functions": sorted({p.spec["name"] for p in users}), "recycled": recycled}

    async def op_secret_rm(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name"))
        users = sorted({p.spec["name"] for p in self._users(name)})
        if users:
            raise AgentFailure(E_BAD_REQUEST, f"secret {name} is used by {', '.join(users)} on node {self.config.name}",
                               f"deploy them without --secret {name} (--no-secrets drops all), or remove them")
        return {"name": name, "removed": self.workers.secrets.remove(name)}
