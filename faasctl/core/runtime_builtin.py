"""Built-in runtimes (faasctl/runtimes/<name>/), read as package data.

The single-file build is a zipapp, so nothing here asks for a filesystem path:
importlib.resources hands out Traversables (a zipfile.Path inside the zip) and the
runtime's files are packed from their bytes. The archive is the one `--from DIR` makes
of the same files, so both ways give the same digest, hence the same image tag.
"""

from __future__ import annotations

import sys
from importlib import resources
from importlib.abc import Traversable
from typing import Any

from faasctl_agent import archive

from ..errors import InvalidInput, NotFound

if sys.version_info >= (3, 11):
    import tomllib
else:  # the single file also runs on 3.10
    import tomli as tomllib

DEFINITION = "runtime.toml"
MAX_FILES = 64  # a runtime is a definition and a Dockerfile; more is a packaging mistake


def parse_definition(data: bytes, where: str) -> dict[str, Any]:
    """A runtime.toml, built-in or `--from DIR`."""
    try:
        return tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{where}: {exc}", "fix the TOML syntax") from exc


def root() -> Traversable:
    return resources.files("faasctl").joinpath("runtimes")


def names(base: Traversable | None = None) -> list[str]:
    folder = base or root()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.joinpath(DEFINITION).is_file())


def files(name: str, base: Traversable | None = None) -> dict[str, bytes]:
    """The runtime's files by name. Flat, as package data ships them ("runtimes/*/*")."""
    available = names(base)
    if name not in available:
        raise NotFound(f"there is no built-in runtime named {name!r}",
                       f"built-ins: {', '.join(available) or 'none'} (faasctl runtime list --available), "
                       "or build your own: faasctl runtime add NAME --from DIR")
    out = {item.name: item.read_bytes() for item in (base or root()).joinpath(name).iterdir()
           if item.is_file() and not item.name.endswith(".pyc")}
    if len(out) > MAX_FILES:
        raise InvalidInput(f"built-in runtime {name} has {len(out)} files, more than {MAX_FILES}")
    return out


def packed(name: str, base: Traversable | None = None) -> bytes:
    """The runtime as a normalised tar.gz, the same bytes `archive.pack_dir` makes of it."""
    entries = [archive.Entry(rel, "file", 0o644, data) for rel, data in sorted(files(name, base).items())]
    return archive.pack(entries)


def describe(name: str, base: Traversable | None = None) -> dict[str, Any]:
    """What `runtime list --available` shows: the definition's fields, parsed."""
    spec = parse_definition(files(name, base)[DEFINITION], f"built-in runtime {name}")
    build = spec.get("build", {})
    return {"name": name, "description": spec.get("description", ""), "run": spec.get("run", ""),
            "handler": spec.get("handler", ""), "runner": spec.get("runner", "python"), "base": build.get("base", ""),
            "offline_base": build.get("offline_base", "")}
