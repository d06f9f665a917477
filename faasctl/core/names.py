"""Name checks with the agent's allow-list (re-exported here), raising this side's InvalidInput."""

from __future__ import annotations

from faasctl_agent.names import NAME_MAX, NAME_PATTERN, NAME_RE, NAME_RULE, valid_digest, valid_name

from ..errors import InvalidInput

__all__ = ["NAME_MAX", "NAME_PATTERN", "NAME_RE", "NAME_RULE", "check_name", "key_values", "valid_digest", "valid_name"]


def check_name(name: str, what: str) -> str:
    if not valid_name(name):
        raise InvalidInput(f"{name!r} is not a valid {what} name", f"use {NAME_RULE}")
    return name


def key_values(items: list[str], what: str, example: str) -> dict[str, str]:
    """KEY=VALUE arguments (parameters, labels) as a dict; the value may contain '='."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} {item!r} is not KEY=VALUE", f"write it like {example}")
        pairs[key] = value
    return pairs
