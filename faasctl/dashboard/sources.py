"""LocalSource: source.py's protocol over this machine's state file (remote.py has the other).

It calls the core functions the `/v1` routes call, in CoreRunner threads, and shapes
each row with the API's own response models (api/models.py), so both sources hand the
screens the same keys and types; those models are imported on first use only.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..config import Settings
    from ..core.context import Context
    from ..core.runner import CoreRunner


def _shaped(model_name: str, rows: Any) -> Any:
    """Rows (or one row) as the API would answer them: its response model, by alias, as JSON."""
    from ..api import models

    model = getattr(models, model_name)
    if isinstance(rows, list):
        return [model.model_validate(r).model_dump(mode="json", by_alias=True) for r in rows]
    return model.model_validate(rows).model_dump(mode="json", by_alias=True)


# What LocalSource runs in a core thread: the core call, then the shaping. The imports are
# here too, so the first one (sqlmodel, the API's models: about 0.4 s) never blocks the screen.

def _nodes(ctx: Context) -> Any:
    from ..core import nodestatus

    return _shaped("NodeOut", nodestatus.with_status(ctx))


def _functions(ctx: Context) -> Any:
    from ..core import functions

    return _shaped("FunctionOut", functions.all_functions(ctx, True))


def _calls(ctx: Context, function: str, status: str, limit: int) -> Any:
    from ..core import calls

    return _shaped("CallOut", calls.list_calls(ctx, function, status, limit, refresh=20))


def _call(ctx: Context, num: int) -> Any:
    from ..core import calls

    return _shaped("CallOut", calls.get(ctx, num))


def _logs(ctx: Context, num: int) -> str:
    from ..core import calls

    return calls.logs(ctx, num)


def _invoke(ctx: Context, function: str, params: Any, is_async: bool) -> Any:
    from ..core import invoke

    return _shaped("CallOut", invoke.invoke(ctx, function, params, is_async=is_async))  # ERROR/TIMEOUT: returned


def _remove_function(ctx: Context, name: str) -> None:
    from ..core import functions

    functions.remove(ctx, name)


def _set_policy(ctx: Context, name: str, policy: dict[str, Any]) -> Any:
    """Checked by the API's PolicyIn, as PATCH /v1/functions/{name}/policy checks it."""
    from pydantic import ValidationError

    from ..api.models import PolicyIn
    from ..core import functions

    try:
        checked = PolicyIn.model_validate(policy).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"policy {where}: {first.get('msg', 'invalid')}",
                           "see `faasctl fn deploy --help` for the options and their values") from exc
    fn = functions.set_policy(ctx, name, checked)
    return _shaped("FunctionOut", {**fn, "nodes": sorted(fn["nodes"])})


def _drain(ctx: Context, name: str, drained: bool) -> None:
    from ..core import nodestatus

    nodestatus.set_drained(ctx, name, drained)


def _remove_node(ctx: Context, name: str) -> None:
    from ..core import nodes

    nodes.remove(ctx, name)


class LocalSource:
    """The state file of this machine (FAASCTL_HOME), through the core, as `faasctl serve` does.

    Like serve's threads, an invoke here does not probe suspect nodes inline; `nodes()`
    does (health.checked_status probes a node whose window has ended), and the dashboard
    asks for nodes every few seconds, so it plays the part of serve's prober."""

    def __init__(self, settings: Settings | None = None, threads: int = 8) -> None:
        from ..core.context import Context
        from ..core.runner import CoreRunner

        ctx = Context(settings)
        self.label = ctx.settings.state_label
        self._core: CoreRunner = CoreRunner(ctx, threads=threads)

    async def nodes(self) -> list[dict[str, Any]]:
        return list(await self._core(_nodes))

    async def functions(self) -> list[dict[str, Any]]:
        return list(await self._core(_functions))

    async def calls(self, function: str = "", status: str = "", limit: int = 200) -> list[dict[str, Any]]:
        return list(await self._core(_calls, function, status, limit))

    async def call(self, num: int) -> dict[str, Any]:
        return dict(await self._core(_call, num))

    async def call_logs(self, num: int) -> str:
        return await self._core(_logs, num)

    async def invoke(self, function: str, params: Any, is_async: bool = False) -> dict[str, Any]:
        return dict(await self._core(_invoke, function, params, is_async))

    async def remove_function(self, name: str) -> None:
        await self._core(_remove_function, name)

    async def set_policy(self, name: str, policy: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._core(_set_policy, name, policy))

    async def drain_node(self, name: str, drained: bool = True) -> None:
        await self._core(_drain, name, drained)

    async def remove_node(self, name: str) -> None:
        await self._core(_remove_node, name)

    async def close(self) -> None:
        await asyncio.to_thread(self._core.close)  # waits for running core calls: off the event loop
