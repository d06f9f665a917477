"""The dependency cache key: everything that decides what an install puts in /deps.

A key made of requirements.txt alone kept serving mypkg 1.0 after an included
`-r pick.txt` changed to `mypkg==2.0`. The key covers the runtime image, the install
command, requirements.txt, every file it includes with -r/-c (followed recursively), and
every file or folder of the archive any requirement line names (wheels, --find-links
folders, local paths); nothing else, so a change to the function's code alone keeps the
cache. It errs towards reinstalling: any token naming a path in the archive counts.
"""

from __future__ import annotations

import posixpath
import shlex

from . import archive, deps_node

REQUIREMENTS = "requirements.txt"
MAX_INCLUDES = 64  # -r/-c files followed from requirements.txt; a bound on hostile nesting
INCLUDE_OPTS = ("-r", "--requirement", "-c", "--constraint")


def wanted_lines(text: str) -> list[str]:
    """The lines that ask for something (not blank, not a comment)."""
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _tokens(line: str) -> list[str]:
    line = line.split(" #", 1)[0]
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    out: list[str] = []
    for word in words:
        if word[:2] in ("-r", "-c") and len(word) > 2 and word[2] != "=":  # -rpick.txt
            out.extend([word[:2], word[2:]])
            continue
        opt, eq, value = word.partition("=")
        out.extend([opt, value] if eq and opt.startswith("-") else [word])
    return out


def _paths(token: str, base: str) -> list[str]:
    """Archive paths `token` may name: relative to the including file, and to the root."""
    token = token.removeprefix("file://").removeprefix("file:")
    if not token or token.startswith(("/", "-")) or "://" in token:
        return []
    found = []
    for start in (base, ""):
        path = posixpath.normpath(posixpath.join(start, token))
        if path not in (".", "") and not path.startswith("../") and path not in found:
            found.append(path)
    return found


def cache_key(entries: list[archive.Entry], image_id: str, command: str) -> str:
    files = {e.name: e.data for e in entries if e.kind == "file"}
    parts = [image_id, command]
    queue, seen = [REQUIREMENTS], {REQUIREMENTS}
    named: set[str] = set()
    while queue and len(seen) <= MAX_INCLUDES:
        current = queue.pop(0)
        text = files.get(current, b"").decode(errors="replace")
        parts += [f"file {current}", text]
        base = posixpath.dirname(current)
        words = [t for ln in wanted_lines(text) for t in _tokens(ln)]
        for i, word in enumerate(words):
            include = i > 0 and words[i - 1] in INCLUDE_OPTS
            for path in _paths(word, base):
                if include and path in files and path not in seen:
                    seen.add(path)
                    queue.append(path)
                named.add(path)
    for path in sorted(named):
        prefix = path + "/"
        for name in sorted(n for n in files if n == path or n.startswith(prefix)):
            parts.append(f"{name} {archive.sha256(files[name])}")
    parts += sorted(f"wheel {archive.sha256(d)}" for n, d in files.items() if n.endswith(".whl"))
    return archive.sha256("\n".join(parts).encode())


def install_key(entries: list[archive.Entry], image_id: str, command: str, language: str) -> str | None:
    """The key of the install an archive asks for in its language; None when it asks for none.
    A Node function's broken package.json raises deps_node.ManifestError."""
    if language == "node":
        return deps_node.cache_key(entries, image_id, command)
    requirements = (archive.file_bytes(entries, REQUIREMENTS) or b"").decode(errors="replace")
    return cache_key(entries, image_id, command) if wanted_lines(requirements) else None
