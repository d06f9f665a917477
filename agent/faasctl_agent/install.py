"""The bootstrap install: a venv holding the agent, unpacked from wheels pushed to the node.

It runs when the agent is not installed yet, so it is sent as source (`python3 -c`) to
the node's python3: stdlib only, Python 3.9 syntax, no import of this package. The venv
is built without pip and the wheels unpacked into it: a wheel is a zip laid out for
site-packages, and skipping pip and ensurepip saves seconds of CPU per node (and the
node needs no python3-venv's ensurepip). A running agent is stopped first, so the start
step that follows brings up the new code; the build stamp ends a re-run early.

Usage: python3 -c "$(source)" HOME BUILD   (prints BUILD when done)
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import zipfile

STAMP = ".faasctl-build"


def unpack(wheels: list[str], site: str) -> None:
    """Unzip wheels into site-packages, then move their .data purelib/platlib up into it."""
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            z.extractall(site)
    for data in glob.glob(os.path.join(site, "*.data")):
        for kind in ("purelib", "platlib"):
            for entry in glob.glob(os.path.join(data, kind, "*")):
                shutil.move(entry, os.path.join(site, os.path.basename(entry)))
        shutil.rmtree(data)


def prune(wheels_dir: str, build: str) -> None:
    """Drop earlier builds' wheels (and pre-0.2 loose ones)."""
    for old in glob.glob(os.path.join(wheels_dir, "*")):
        if os.path.basename(old) != build:
            if os.path.isdir(old):
                shutil.rmtree(old)
            else:
                os.remove(old)


def install(home: str, build: str) -> None:
    import venv

    env = os.path.join(home, "venv")
    py = os.path.join(env, "bin", "python")
    if os.path.exists(os.path.join(home, "agent.json")) and os.path.exists(py):
        subprocess.call([py, "-m", "faasctl_agent", "stop", "--home", home],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wheels = sorted(glob.glob(os.path.join(home, "wheels", build, "*.whl")))
    if not wheels:
        sys.exit("no wheels in " + os.path.join(home, "wheels", build))
    shutil.rmtree(env, ignore_errors=True)
    venv.create(env, with_pip=False, symlinks=True)
    unpack(wheels, os.path.join(env, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages"))
    subprocess.check_call([py, "-c", "import faasctl_agent, zmq, docker"])
    with open(os.path.join(env, STAMP), "w") as f:
        f.write(build + "\n")
    prune(os.path.join(home, "wheels"), build)


def main(argv: list[str]) -> int:
    install(argv[0], argv[1])
    print(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
