"""How much disk a node's volumes and images take, and removing an image the agent built.

Used when old versions are dropped (sweep.py, versionops.py): the sizes are what the
Docker engine itself reports (`docker system df -v`), read before anything is removed,
so the bytes a reply says were freed are the engine's own figures, not estimates.
"""

from __future__ import annotations

from typing import Any

import docker.errors

from .volumes import LABEL_NODE


class DiskOps:
    """Disk accounting of the Executor (split from it to keep each module small)."""

    api: Any
    node: str

    def disk_usage(self) -> tuple[dict[str, int], dict[str, int]]:
        """Bytes of each volume by name, and of each image by id (the part no other image
        shares: what removing it frees). One `df` call: the engine walks every volume."""
        usage = self.api.df()
        volumes = {str(v["Name"]): max(0, int((v.get("UsageData") or {}).get("Size") or 0))
                   for v in usage.get("Volumes") or []}
        images = {str(i["Id"]): max(0, int(i.get("Size") or 0) - max(0, int(i.get("SharedSize") or 0)))
                  for i in usage.get("Images") or []}
        return volumes, images

    def remove_built_image(self, ref: str) -> tuple[str, bool] | None:
        """Remove the name `ref` if this agent built the image (labelled with its scope).

        Another name on the same image (two runtimes built from one context share it) keeps
        the image: then only the name goes, which no container needs. The last name goes
        only if no container, running or not, uses the image. The image id and whether the
        image itself was deleted (bytes freed); None when nothing was removed."""
        try:
            info = self.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            return None
        labels = (info.get("Config") or {}).get("Labels") or {}
        if labels.get(LABEL_NODE) != self.node:
            return None
        others = [t for t in info.get("RepoTags") or [] if t != ref]
        if not others and self.api.containers(all=True, filters={"ancestor": info["Id"]}):
            return None
        try:
            answer = self.api.remove_image(ref)
        except docker.errors.APIError:  # in use after all (a container made meanwhile): keep it
            return None
        return str(info["Id"]), any("Deleted" in item for item in answer or [])
