"""The remote-only bootstrap steps: one probe and one install, as data (python3 scripts).

Why scripts and not one command per check: every SSH exec starts a Python on the node,
and a bootstrap of many nodes that share little CPU (or a no-op re-run that must finish
in seconds) pays for each. The probe answers everything in one exec (checks, the node's
Python, the installed build, whether the agent is healthy and knows our key); when all
is in place the bootstrap ends there. The install builds the venv without pip and unpacks
the wheels into it: a wheel is a zip laid out for site-packages, and skipping pip and
ensurepip saves seconds of CPU per node (and the node needs no python3-venv's ensurepip).
"""

from __future__ import annotations

import json
from typing import Any

from ..connectors.base import Connector, Step
from ..errors import NodeUnreachable

PROBE = r"""
import json, os, shutil, socket, sys
home, client = os.path.expanduser(sys.argv[1]), sys.argv[2]
out = {"python": "%d.%d" % sys.version_info[:2], "home": home, "fail": [], "healthy": False,
       "machine": os.uname().machine, "libc": "", "libc_version": ""}
if sys.version_info < (3, 9): out["fail"].append("python")
try: out["libc"], out["libc_version"] = os.confstr("CS_GNU_LIBC_VERSION").split()  # "glibc 2.36"
except (ValueError, OSError, AttributeError):
    import glob, subprocess
    for loader in glob.glob("/lib/ld-musl-*.so.1"):  # musl's loader prints its version when run bare
        err = subprocess.run([loader], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL).stderr.decode()
        words = err.split()
        out["libc"] = "musl"
        out["libc_version"] = words[words.index("Version") + 1] if "Version" in words else ""
try:
    s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect("/var/run/docker.sock"); s.close()
except OSError: out["fail"].append("docker")
try:
    os.makedirs(home, exist_ok=True)
    if shutil.disk_usage(home).free < 2**30: out["fail"].append("disk")
except OSError: out["fail"].append("home")
try: import venv
except ImportError: out["fail"].append("venv")
def read(p):
    try: return open(os.path.join(home, p)).read()
    except OSError: return ""
out["build"] = read("venv/.faasctl-build").strip()
out["config"] = read("agent.json")
key = read("keys/server.key")
out["server_key"] = key.split('public-key = "')[1].split('"')[0] if 'public-key = "' in key else ""
out["authorized"] = bool(client) and client in read("keys/authorized/operator.key")
try:  # raw HTTP: importing urllib.request costs more than the whole probe
    cfg = json.loads(out["config"])
    auth = "Authorization: Bearer %s\r\n" % cfg["http_token"] if cfg.get("http_token") else ""
    c = socket.create_connection((cfg.get("http_host", "127.0.0.1"), cfg["http_port"]), 2); c.settimeout(2)
    c.sendall(("GET /healthz HTTP/1.0\r\nHost: localhost\r\n%s\r\n" % auth).encode())
    out["healthy"] = c.recv(32).split(b" ")[1:2] == [b"200"]; c.close()
except Exception: pass
print(json.dumps(out))
"""

INSTALL = r"""
import glob, os, shutil, subprocess, sys, venv, zipfile
home, build = sys.argv[1], sys.argv[2]
env = os.path.join(home, "venv"); py = os.path.join(env, "bin", "python")
if os.path.exists(os.path.join(home, "agent.json")) and os.path.exists(py):
    subprocess.call([py, "-m", "faasctl_agent", "stop", "--home", home],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
shutil.rmtree(env, ignore_errors=True)
venv.create(env, with_pip=False, symlinks=True)
site = os.path.join(env, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
wheels = sorted(glob.glob(os.path.join(home, "wheels", build, "*.whl")))
if not wheels: sys.exit("no wheels in " + os.path.join(home, "wheels", build))
for whl in wheels:
    with zipfile.ZipFile(whl) as z: z.extractall(site)
for data in glob.glob(os.path.join(site, "*.data")):
    for kind in ("purelib", "platlib"):
        for entry in glob.glob(os.path.join(data, kind, "*")):
            shutil.move(entry, os.path.join(site, os.path.basename(entry)))
    shutil.rmtree(data)
subprocess.check_call([py, "-c", "import faasctl_agent, zmq, docker"])
with open(os.path.join(env, ".faasctl-build"), "w") as f: f.write(build + "\n")
for old in glob.glob(os.path.join(home, "wheels", "*")):  # earlier builds' wheels, and pre-0.2 loose ones
    if os.path.basename(old) != build: shutil.rmtree(old) if os.path.isdir(old) else os.remove(old)
print(build)
"""

FAILS = {
    "python": ("python3 3.9 or newer is needed on the node", "install python3 on the node"),
    "docker": ("cannot reach the Docker engine on the node",
               "start dockerd and let this user use /var/run/docker.sock (docker group)"),
    "home": ("cannot create the agent's home on the node", "pick another --home or let the login user write there"),
    "disk": ("less than 1 GiB free on the node", "free disk space under the agent's home"),
    "venv": ("python3 on the node has no venv module", "install python3-venv on the node"),
}


def probe_step(home: str, client_public: str) -> Step:
    return Step("probe node", ("python3", "-c", PROBE, home, client_public), "python3 did not run on the node",
                "install python3 on the node")


def probe(connector: Connector, home: str, client_public: str) -> dict[str, Any]:
    """Run the probe; raise the first failed check's message, else return its findings."""
    step = probe_step(home, client_public)
    result = connector.run(step.argv)
    try:
        found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        detail = " / ".join((result.stderr or result.stdout).strip().splitlines()[-2:])
        raise NodeUnreachable(f"node {connector.name}: {step.fail} ({detail or f'exit {result.code}'})",
                              step.hint) from exc
    for fail in found["fail"]:
        message, hint = FAILS.get(fail, (f"check {fail} failed", ""))
        raise NodeUnreachable(f"node {connector.name}: {message}", hint)
    return found


def install_plan(home: str, build: str) -> list[Step]:
    """Install (or upgrade in place) the agent from the wheels pushed to HOME/wheels/BUILD.

    A running agent of another build is stopped first, so the start step that follows
    brings up the new code; the build stamp makes a re-run with the same wheels a no-op.
    """
    return [Step("install agent", ("python3", "-c", INSTALL, home, build),
                 "installing the agent from its wheels failed",
                 f"the wheels are in {home}/wheels on the node", capture="installed")]
