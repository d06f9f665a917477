"""The agent's policy model on this side: checks raising InvalidInput, and front-end glue.

typer and FastAPI both read a command's parameters from its signature; `with_options`
writes one parameter per policy field into that signature, so the CLI's options and the
API's form fields come from the model instead of being listed by hand. Light on purpose
(stdlib plus the agent's model): the CLI imports it at start.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from faasctl_agent.policy import FUNCTION_KEYS, PLACEMENTS, PRELOADS, SPECS, Policy, PolicyError, Spec, parse

from ..errors import InvalidInput

__all__ = ["FUNCTION_KEYS", "PLACEMENTS", "PRELOADS", "SPECS", "Policy", "Spec", "check", "with_options"]

F = TypeVar("F", bound=Callable[..., Any])


def check(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Drop unset options and refuse wrong or out-of-range ones before anything is sent."""
    try:
        return parse(raw)
    except PolicyError as exc:
        raise InvalidInput(exc.message, exc.hint) from exc


def with_options(make: Callable[[Spec], tuple[Any, Any]], keys: Iterable[str] = FUNCTION_KEYS) -> Callable[[F], F]:
    """Add a keyword parameter per policy field to the decorated command's signature.

    `make(spec)` gives the parameter's (annotation, default), e.g. a `typer.Option` or a
    FastAPI `Form`. The command receives the given values as one `policy` dict instead.
    """
    names = list(keys)

    def decorate(func: F) -> F:
        sig, hints = inspect.signature(func), typing.get_type_hints(func, include_extras=True)
        plain = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(p.name, p.annotation))
                 for p in sig.parameters.values() if p.name != "policy"]
        added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=make(SPECS[n])[0],
                                   default=make(SPECS[n])[1]) for n in names]

        def split(kwargs: dict[str, Any]) -> dict[str, Any]:
            kwargs["policy"] = {n: kwargs.pop(n) for n in names if n in kwargs}
            return kwargs

        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                return await func(*args, **split(kwargs))
        else:
            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return func(*args, **split(kwargs))

        # Keyword-only, so defaults may come in any order; annotations resolved here, since
        # FastAPI would evaluate strings in this module's globals, not the command's.
        params = plain + added
        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        if "return" in hints:
            wrapper.__annotations__["return"] = hints["return"]
        return wrapper  # type: ignore[return-value]

    return decorate
