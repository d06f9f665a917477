"""The npm side of the dependency cache: when a Node function needs an install, and its key.

The key covers the runtime image, the install command, package.json, the lockfile
(package-lock.json or npm-shrinkwrap.json), and every file or folder of the archive that
either of them names as a local package (`file:` specs, `./` paths, tarballs); so a new
tarball under the same name reinstalls, while a change to the function's code alone keeps
the cache. A package.json npm could not read is refused here, in one line, before any
container is started for it.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from . import archive

PACKAGE = "package.json"
LOCKS = ("package-lock.json", "npm-shrinkwrap.json")
SECTIONS = ("dependencies", "optionalDependencies")  # what `npm install --omit=dev` installs
TARBALLS = (".tgz", ".tar.gz", ".tar")


class ManifestError(ValueError):
    """A package.json or lockfile that npm would refuse; says which file, where, and what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _json(files: dict[str, bytes], name: str) -> Any:
    try:
        return json.loads(files[name].decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{name} is not UTF-8 text", f"save {name} as UTF-8, then deploy again") from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                            f"fix {name} (`node -e \"require('./{name}')\"` in the function's folder shows "
                            "the same place), then deploy again") from exc


def manifest(entries: list[archive.Entry]) -> dict[str, Any] | None:
    """package.json, checked as npm needs it; None when the archive has none."""
    files = {e.name: e.data for e in entries if e.kind == "file"}
    if PACKAGE not in files:
        return None
    doc = _json(files, PACKAGE)
    if not isinstance(doc, dict):
        raise ManifestError(f"{PACKAGE} must hold a JSON object", 'start it like {"name": "fn", "dependencies": {}}')
    for section in SECTIONS:
        listed = doc.get(section, {})
        if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
            raise ManifestError(f"{PACKAGE}: {section} must map package names to version strings",
                                'write it like "dependencies": {"left-pad": "file:vendor/left-pad-1.3.0.tgz"}')
    return doc


def local_path(spec: str) -> str | None:
    """The archive path a dependency spec names, if it names one (npm's local forms)."""
    spec = spec.strip()
    if spec.startswith("file:"):
        spec = spec[len("file:"):]
    elif not spec.startswith(("./", "../")) and not spec.endswith(TARBALLS):
        return None
    if spec.startswith(("/", "~")) or "://" in spec:
        return None
    path = posixpath.normpath(spec)
    return None if path in (".", "") or path.startswith("../") else path


def _lock_refs(node: Any, out: set[str]) -> None:
    """Local paths a lockfile names: `file:` in resolved/version, and v2/v3 package keys."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("resolved", "version") and isinstance(value, str) and value.startswith("file:"):
                found = local_path(value)
                if found:
                    out.add(found)
            _lock_refs(value, out)
        for key in node.get("packages", {}) if isinstance(node.get("packages"), dict) else ():
            if key and not key.startswith("node_modules/") and "/node_modules/" not in key:
                found = local_path("file:" + key)
                if found:
                    out.add(found)
    elif isinstance(node, list):
        for item in node:
            _lock_refs(item, out)


def cache_key(entries: list[archive.Entry], image_id: str, command: str) -> str | None:
    """The install's key, or None when package.json asks for no package."""
    doc = manifest(entries)
    if doc is None or not any(doc.get(section) for section in SECTIONS):
        return None
    files = {e.name: e.data for e in entries if e.kind == "file"}
    parts = [image_id, command, f"file {PACKAGE}", files[PACKAGE].decode()]
    named = {p for section in SECTIONS for p in map(local_path, doc.get(section, {}).values()) if p}
    for lock in LOCKS:
        if lock in files:
            parts += [f"file {lock}", files[lock].decode(errors="replace")]
            _lock_refs(_json(files, lock), named)
    for path in sorted(named):
        prefix = path + "/"
        parts += [f"{n} {archive.sha256(files[n])}" for n in sorted(files) if n == path or n.startswith(prefix)]
    parts += sorted(f"tarball {archive.sha256(d)}" for n, d in files.items() if n.endswith(TARBALLS))
    return archive.sha256("\n".join(parts).encode())
