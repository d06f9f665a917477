"""The two Sources (source.py): this machine's state file, or a remote `faasctl serve`.

LocalSource calls the core functions the `/v1` routes call, in CoreRunner threads, and
shapes each row with the API's own response models (api/models.py), so both sources
hand the screens the same keys and types; those models are imported on first use only.
RemoteSource speaks HTTP with the standard library (httpx is a test-only dependency),
one blocking request in a thread at a time per call, and turns an error answer back
into the errors.py class the server raised, by its HTTP status.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from ..errors import AgentError, Busy, Conflict, FaasctlError, InvalidInput, NodeUnreachable, NotFound

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
        self.label = str(ctx.settings.state_path)
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


# HTTP status of an error answer -> the class the server raised (errors.py's http_status).
# 401 (no or wrong token) is InvalidInput: the tree has no class of its own for it, and a
# wrong token is a bad value the operator gave (--token-file), fixed the same way.
HTTP_ERRORS: dict[int, type[FaasctlError]] = {
    400: InvalidInput, 401: InvalidInput, 404: NotFound, 409: Conflict, 413: InvalidInput, 422: InvalidInput,
    429: Busy, 502: AgentError, 503: NodeUnreachable,
}


class RemoteSource:
    """A `faasctl serve` reached at `url` (its /v1 API), with its bearer token if it has one."""

    def __init__(self, url: str, token: str = "", timeout: float = 15.0, invoke_timeout: float = 660.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvalidInput(f"{url!r} is not an http:// or https:// URL", "give serve's URL, e.g. http://HOST:3000")
        self.url = url.rstrip("/")
        self.label = self.url
        self._token = token
        self._timeout = timeout
        self._invoke_timeout = invoke_timeout  # a sync call answers when the function ends

    def _request(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
                 timeout: float | None = None) -> Any:
        """One HTTP request; the decoded JSON answer (None for 204), or the mapped error."""
        import http.client
        import urllib.error
        import urllib.request

        url = f"{self.url}/v1{path}" + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self._timeout) as resp:  # noqa: S310 (http(s) only)
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise self._error(exc.code, exc.read()) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # refused, DNS, timeout
            reason = getattr(exc, "reason", exc)
            raise NodeUnreachable(f"cannot reach faasctl serve at {self.url}: {reason}",
                                  f"check that `faasctl serve` runs at {self.url} and this machine can reach it") \
                from exc
        return json.loads(raw) if raw else None

    def _error(self, status: int, raw: bytes) -> FaasctlError:
        try:
            body = json.loads(raw)
            message, hint = str(body.get("error") or ""), str(body.get("hint") or "")
        except (ValueError, AttributeError):
            message, hint = raw.decode(errors="replace")[:200], ""
        if status == 401:
            hint = f"{hint}; check the token given to the dashboard (--token-file)" if hint else \
                "give the dashboard the token serve was started with (--token-file)"
        cls = HTTP_ERRORS.get(status, FaasctlError)
        return cls(message or f"HTTP {status} from {self.url}", hint)

    async def _call(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
                    timeout: float | None = None) -> Any:
        return await asyncio.to_thread(self._request, method, path, query, body, timeout)

    async def nodes(self) -> list[dict[str, Any]]:
        return list(await self._call("GET", "/nodes"))

    async def functions(self) -> list[dict[str, Any]]:
        return list(await self._call("GET", "/functions", {"live": "true"}))

    async def calls(self, function: str = "", status: str = "", limit: int = 200) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"limit": limit}
        if function:
            query["function"] = function
        if status:
            query["status"] = status.upper()
        return list(await self._call("GET", "/calls", query))

    async def call(self, num: int) -> dict[str, Any]:
        return dict(await self._call("GET", f"/calls/{int(num)}"))

    async def call_logs(self, num: int) -> str:
        return str((await self._call("GET", f"/calls/{int(num)}/logs"))["log"])

    async def invoke(self, function: str, params: Any, is_async: bool = False) -> dict[str, Any]:
        """The API answers a failed sync call with 200 and the record (ERROR/TIMEOUT), so it is returned."""
        return dict(await self._call("POST", f"/functions/{quote(function, safe='')}/invocations",
                                     {"async": "true"} if is_async else None, {"params": params},
                                     timeout=self._timeout if is_async else self._invoke_timeout))

    async def remove_function(self, name: str) -> None:
        await self._call("DELETE", f"/functions/{quote(name, safe='')}", timeout=self._invoke_timeout)

    async def set_policy(self, name: str, policy: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("PATCH", f"/functions/{quote(name, safe='')}/policy", body=policy,
                                     timeout=self._invoke_timeout))

    async def drain_node(self, name: str, drained: bool = True) -> None:
        await self._call("POST" if drained else "DELETE", f"/nodes/{quote(name, safe='')}/drain")

    async def remove_node(self, name: str) -> None:
        await self._call("DELETE", f"/nodes/{quote(name, safe='')}", timeout=self._invoke_timeout)

    async def close(self) -> None:
        """Nothing to close: each request has its own connection."""
