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


ALIAS_RULE = "a letter, then up to 39 lowercase letters, digits or dashes (a number would read as a version)"


def check_alias(alias: str) -> str:
    if not (0 < len(alias) <= 40 and alias[0].isascii() and alias[0].islower()
            and all(c.isascii() and (c.islower() or c.isdigit() or c == "-") for c in alias)):
        raise InvalidInput(f"{alias!r} is not a valid alias name", f"use {ALIAS_RULE}")
    return alias


def parse_ref(ref: str) -> tuple[str, int, str]:
    """`NAME`, `NAME@N` (a version) or `NAME@ALIAS`: the name, the version (0: none) and the alias."""
    name, sep, which = ref.partition("@")
    if not sep:
        return name, 0, ""  # unchecked, as before: an unknown name is NotFound at lookup
    check_name(name, "function")
    if which.isdigit() and which.isascii() and len(which) <= 9 and int(which) > 0:
        return name, int(which), ""
    if not which:
        raise InvalidInput(f"{ref!r} names no version or alias after @", f"write {name}@3 or {name}@live")
    return name, 0, check_alias(which)
