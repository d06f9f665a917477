"""Name checks with the agent's allow-list, raising this side's InvalidInput."""

from __future__ import annotations

from faasctl_agent.names import NAME_RULE, valid_name

from ..errors import InvalidInput


def check_name(name: str, what: str) -> str:
    if not valid_name(name):
        raise InvalidInput(f"{name!r} is not a valid {what} name", f"use {NAME_RULE}")
    return name
