"""Links checked as the kernel will follow them, against every link in the archive.

A link's target read as text says little: `x -> ../..` is harmless at the top of a deep
folder, yet `esc -> d0/.../d19/x/../../..` walks up through it and out of the tree.
So each link is resolved component by component, following the archive's own links
on the way (with the kernel's limit of 40 nested links), and an entry whose path
passes through a link is refused, since unpacking it would write wherever that link
points.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Protocol

MAX_LINK_DEPTH = 40  # Linux's MAXSYMLINKS
MAX_LINK_STEPS = 200_000  # path components walked for all links together: bounds the time
MAX_DEPTH = 1024  # folders in a resolved path


class _Entry(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def target(self) -> str: ...


class LinkError(ValueError):
    """A link that leaves the tree, loops, or an entry written through a link."""


class _Resolver:
    def __init__(self, links: dict[str, str]) -> None:
        self.links = links
        self.resolved: dict[str, tuple[str, ...]] = {}
        self.active: set[str] = set()
        self.steps = 0

    def _spend(self, steps: int, origin: str) -> None:
        self.steps += steps
        if self.steps > MAX_LINK_STEPS:
            raise LinkError(f"{origin}: the archive's links take over {MAX_LINK_STEPS} steps to resolve")

    def walk(self, parts: Iterable[str], depth: int, origin: str) -> tuple[str, ...]:
        """Where `parts` lead from the tree's root; every prefix of the result is real."""
        keys: list[str] = []  # keys[i]: the path of the first i+1 components walked so far
        for part in parts:
            self._spend(1, origin)
            if part in ("", "."):
                continue
            if part == "..":
                if not keys:
                    raise LinkError(f"{origin}: link leaves the archive")
                keys.pop()
                continue
            keys.append(f"{keys[-1]}/{part}" if keys else part)
            if keys[-1] in self.links:
                keys = self._prefixes(self.follow(keys[-1], depth + 1, origin))
                self._spend(len(keys), origin)
            if len(keys) > MAX_DEPTH:
                raise LinkError(f"{origin}: link resolves to a path over {MAX_DEPTH} folders deep")
        return tuple(keys[-1].split("/")) if keys else ()

    @staticmethod
    def _prefixes(parts: tuple[str, ...]) -> list[str]:
        keys: list[str] = []
        for part in parts:
            keys.append(f"{keys[-1]}/{part}" if keys else part)
        return keys

    def follow(self, link: str, depth: int, origin: str) -> tuple[str, ...]:
        if link in self.resolved:
            return self.resolved[link]
        if depth > MAX_LINK_DEPTH or link in self.active:
            raise LinkError(f"{origin}: links nest more than {MAX_LINK_DEPTH} deep or form a loop")
        target = self.links[link]
        if target.startswith("/"):
            raise LinkError(f"{origin}: link to {target!r} leaves the archive")
        self.active.add(link)
        parent = link.split("/")[:-1]
        result = self.walk([*parent, *target.split("/")], depth, origin)
        self.active.discard(link)
        self.resolved[link] = result
        return result


def check_tree(entries: Sequence[_Entry]) -> None:
    """Refuse duplicate names, paths through links, and links whose end leaves the tree."""
    links: dict[str, str] = {}
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            raise LinkError(f"{entry.name}: appears twice in the archive")
        seen.add(entry.name)
        if entry.kind == "link":
            if not entry.target:
                raise LinkError(f"{entry.name}: link has an empty target")
            links[entry.name] = entry.target
    names = sorted(seen)
    for link in links:  # any name under "link/" sorts right after "link/"
        below = bisect.bisect_left(names, link + "/")
        if below < len(names) and names[below].startswith(link + "/"):
            raise LinkError(f"{names[below]}: path goes through the link {link}")
    resolver = _Resolver(links)
    for name in links:
        resolver.follow(name, 1, name)
