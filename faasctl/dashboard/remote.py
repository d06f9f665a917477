"""RemoteSource: source.py's protocol over a `faasctl serve` reached by its /v1 API.

HTTP with the standard library (httpx is a test-only dependency), one blocking request
in a thread per call, and an error answer turned back into the errors.py class the
server raised, by its HTTP status, so the screens handle both sources alike.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote, urlencode

from ..errors import AgentError, Busy, Conflict, FaasctlError, InvalidInput, NodeUnreachable, NotFound

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
