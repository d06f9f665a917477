"""What dropping old versions frees on a node (issue 14), decided apart from doing it.

A resource goes only when a dropped version named it and nothing still kept does: an
artifact, a code volume, a dependency volume (shared by every version with the same
requirements) or a runtime image. Kept means any version of any function the journal
holds, active or not, a deploy in flight (its claims), or an image faasctl asked to keep.
The runner volume is never a candidate: every container of this agent mounts it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Uses:
    artifacts: frozenset[str] = frozenset()  # digests of <agent home>/artifacts/<digest>.tar.gz
    volumes: frozenset[str] = frozenset()  # code and dependency volumes
    images: frozenset[str] = frozenset()  # runtime image references


def uses(specs: Iterable[dict[str, Any]]) -> Uses:
    """Every node resource the given version specs need."""
    artifacts: set[str] = set()
    volumes: set[str] = set()
    images: set[str] = set()
    for spec in specs:
        artifacts.add(str(spec["digest"]))
        volumes.update(str(v) for v in (spec.get("code_volume"), spec.get("deps_volume")) if v)
        if spec.get("image"):
            images.add(str(spec["image"]))
    return Uses(frozenset(artifacts), frozenset(volumes), frozenset(images))


@dataclass(frozen=True)
class Plan:
    artifacts: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    images: tuple[str, ...] = ()


def plan(dropped: Iterable[dict[str, Any]], remaining: Iterable[dict[str, Any]],
         keep_images: Iterable[str] = (), claimed: Iterable[str] = ()) -> Plan:
    """The resources of the dropped versions that no remaining version, claim or kept image uses."""
    gone, still = uses(dropped), uses(remaining)
    held = set(claimed)

    def free(candidates: frozenset[str], used: frozenset[str], also: set[str]) -> tuple[str, ...]:
        return tuple(sorted(c for c in candidates if c not in used and c not in also))

    return Plan(free(gone.artifacts, still.artifacts, held), free(gone.volumes, still.volumes, held),
                free(gone.images, still.images, held | set(keep_images)))


def still_free(name: str, remaining: Iterable[dict[str, Any]], claimed: Iterable[str]) -> bool:
    """Asked again just before a removal (after awaits): a deploy may have named it since."""
    if name in set(claimed):
        return False
    now = uses(remaining)
    return name not in now.artifacts and name not in now.volumes and name not in now.images
