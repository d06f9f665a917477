"""Where the dashboard reads from and acts through: the local state file or a remote `serve`.

The screens know only this protocol, so the same screens show either source
(`faasctl dashboard` or `faasctl dashboard --url`). Rows are the `/v1` API's shapes
(api/models.py: NodeOut, FunctionOut, CallOut), which the local source builds with the
same core functions the API's routes call. Every method is a coroutine: the local
source runs the synchronous core in core.runner.CoreRunner's threads, the remote one
does its HTTP in a thread, so the screen never blocks on a node or the network.
Errors are FaasctlError subclasses in both cases (the remote source maps HTTP statuses
back through errors.py), so the screens show `exc.message` and `exc.hint` alike.
"""

from __future__ import annotations

from typing import Any, Protocol


class Source(Protocol):
    label: str  # shown in the header: the state file's path or the serve URL

    async def nodes(self) -> list[dict[str, Any]]:
        """NodeOut rows plus `stem_cells` (dict), `drained` (bool): live, never raising for a down node."""

    async def functions(self) -> list[dict[str, Any]]:
        """FunctionOut rows with `warm` per node filled (live=True)."""

    async def calls(self, function: str = "", status: str = "", limit: int = 200) -> list[dict[str, Any]]:
        """CallOut rows, newest first."""

    async def call(self, num: int) -> dict[str, Any]:
        """One CallOut row (refreshed from its node while unfinished)."""

    async def call_logs(self, num: int) -> str: ...

    async def invoke(self, function: str, params: Any, is_async: bool = False) -> dict[str, Any]:
        """The CallOut of the call; a failed sync call is returned (status ERROR/TIMEOUT), not raised."""

    async def remove_function(self, name: str) -> None: ...

    async def set_policy(self, name: str, policy: dict[str, Any]) -> dict[str, Any]:
        """FunctionOut after the change; `policy` holds only the fields to change."""

    async def drain_node(self, name: str, drained: bool = True) -> None:
        """A drained node gets no new calls from placement; its running calls finish."""

    async def remove_node(self, name: str) -> None: ...

    async def close(self) -> None: ...
