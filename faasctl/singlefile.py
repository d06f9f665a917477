"""Bytecode for the single file's venv, compiled once per machine in the background.

dist/faasctl installs itself into a venv under PEX_ROOT on first start (scripts/dist.py).
Bytecode cannot ship for every CPython it supports (3.10-3.13 each need their own), and
with PYTHONDONTWRITEBYTECODE=1 the interpreter would compile every module on every
start. So the first start compiles the venv's site-packages for the interpreter that
owns it, detached, and later starts load bytecode whatever the environment says.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

MARKER = ".faasctl-bytecode"
STALE_LOCK_S = 600.0

# pex links each distribution into the venv's site-packages from PEX_ROOT/installed_wheels,
# and compileall does not follow linked folders: compile each link's target.
_COMPILE = """
import compileall, os, sys, sysconfig
prefix, ok = sys.argv[1], True
site = sysconfig.get_paths()["purelib"]
for name in sorted(os.listdir(site)):
    path = os.path.realpath(os.path.join(site, name))
    if os.path.isdir(path):
        ok = bool(compileall.compile_dir(path, quiet=2, workers=0)) and ok
    elif path.endswith(".py"):
        ok = bool(compileall.compile_file(path, quiet=2)) and ok
with open(os.path.join(prefix, MARKER), "w") as f:
    f.write("complete\\n" if ok else "some files did not compile\\n")
os.remove(os.path.join(prefix, MARKER + ".lock"))
""".replace("MARKER", repr(MARKER))


def venv() -> str:
    """The venv dist/faasctl installed, or "" when not running from the single file.

    Its boot names it in FAASCTL_SINGLE_FILE_VENV (it may run faasctl in the caller's
    interpreter, whose sys.prefix is not the venv); pex's own boot runs the venv itself,
    which has pex's PEX-INFO at its root.
    """
    named = os.environ.get("FAASCTL_SINGLE_FILE_VENV", "")
    if named:
        return named
    return sys.prefix if os.path.exists(os.path.join(sys.prefix, "PEX-INFO")) else ""


def ensure_bytecode(prefix: str) -> None:
    """Start the one-off compile unless it is done or under way; never delays this command."""
    if os.path.exists(os.path.join(prefix, MARKER)):
        return
    lock = os.path.join(prefix, MARKER + ".lock")
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        try:
            if time.time() - os.stat(lock).st_mtime < STALE_LOCK_S:
                return
            os.remove(lock)  # a compile that died; the next start tries again
        except OSError:
            pass
        return
    except OSError:
        return  # a read-only PEX_ROOT: run without bytecode rather than fail
    os.close(fd)
    subprocess.Popen([os.path.join(prefix, "bin", "python"), "-c", _COMPILE, prefix], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                     close_fds=True)
