"""Bootstrap benchmark: `faasctl node import` of N node containers in parallel, fresh and
again when nothing changed, next to a raw baseline measured in the same run.

Nodes are faasctl/node:test containers (scripts/node-image.sh): sshd on a loopback port,
python3, rsync, the host's Docker socket. The raw baseline is what touching every node
costs at all: OpenSSH `ssh node true` to all N at once, the same parallelism. The agent's
wheels are built once before the timed runs (reported apart: that is the operator's
one-time cost, not the nodes').

    .venv/bin/python bench/bootstrap.py            # N=20
    .venv/bin/python bench/bootstrap.py -n 5 --json

Targets (docs/nodes.md): 20 nodes under 30 s fresh, under 3 s when nothing changed.
Everything it starts (containers, FAASCTL_HOME) is removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
IMAGE = "faasctl/node:test"


def start_nodes(client: Any, n: int, public_key: str) -> list[Any]:
    containers = []
    for _ in range(n):
        containers.append(client.containers.run(
            IMAGE, detach=True, environment={"AUTHORIZED_KEY": public_key}, labels={"faasctl.bench": "bootstrap"},
            ports={"22/tcp": ("127.0.0.1", None), "7701/tcp": ("127.0.0.1", None)},
            volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"}}))
    for c in containers:
        c.reload()
    return containers


def port(container: Any, inner: str) -> int:
    return int(container.attrs["NetworkSettings"]["Ports"][inner][0]["HostPort"])


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, cwd=REPO)
    return time.perf_counter() - start, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="node containers (1..50)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = max(1, min(args.n, 50))

    import docker

    from tests.support.sshd import fingerprint_sha256, generate_ed25519_key, wait_for_ssh_banner

    client = docker.from_env()
    work = Path(tempfile.mkdtemp(prefix="faasctl-bench-bootstrap-"))
    home = work / "home"
    env = {**os.environ, "FAASCTL_HOME": str(home)}
    key = work / "id_ed25519"
    containers: list[Any] = []
    figures: dict[str, Any] = {"nodes": n}
    try:
        containers = start_nodes(client, n, generate_ed25519_key(key, "faasctl-bench"))
        for c in containers:
            wait_for_ssh_banner("127.0.0.1", port(c, "22/tcp"), 60)
        lines = [f'[defaults]\nuser = "root"\nkey = "{key}"\nagent_port = 7701\n']
        for i, c in enumerate(containers):
            host_key = c.exec_run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).output.decode().strip()
            lines.append(f'[nodes.bench{i:02d}-{c.short_id[:6]}]\nhost = "127.0.0.1:{port(c, "22/tcp")}"\n'
                         f'agent_address = "127.0.0.1:{port(c, "7701/tcp")}"\n'
                         f'host_key_fingerprint = "{fingerprint_sha256(host_key)}"\n')
        inventory = work / "inventory.toml"
        inventory.write_text("\n".join(lines))

        from faasctl.core import wheels

        start = time.perf_counter()
        facts = containers[0].exec_run(["python3", "-c", "import json, os, sys; print(json.dumps({'python': "
                                        "'%d.%d' % sys.version_info[:2], 'machine': os.uname().machine, 'libc': "
                                        "'glibc', 'libc_version': os.confstr('CS_GNU_LIBC_VERSION').split()[1]}))"])
        wheels.ensure(home, wheels.NodePlatform.from_probe(json.loads(facts.output.decode())))
        figures["wheels_build_s"] = time.perf_counter() - start

        ssh = ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
        start = time.perf_counter()
        with ThreadPoolExecutor(n) as pool:
            codes = list(pool.map(lambda c: subprocess.run([*ssh, "-p", str(port(c, "22/tcp")), "root@127.0.0.1",
                                                            "true"], capture_output=True).returncode, containers))
        figures["raw_ssh_true_s"] = time.perf_counter() - start
        assert codes == [0] * n, codes

        cli = [sys.executable, "-m", "faasctl", "node", "import", str(inventory), "-j", str(n), "--json"]
        for label in ("fresh_s", "noop_s"):
            seconds, proc = timed(cli, env)
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, file=sys.stderr)
                raise SystemExit(f"node import failed ({label})")
            figures[label] = seconds
            figures[label.replace("_s", "_slowest_node_s")] = max(o["seconds"] for o in json.loads(proc.stdout))
    finally:
        for c in containers:
            c.remove(force=True)
        client.close()
        subprocess.run(["rm", "-rf", str(work)], check=False)

    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"bootstrap of {n} node containers in parallel (-j {n})\n")
    print("| what | seconds | target |\n| --- | ---: | --- |")
    print(f"| raw baseline: `ssh node true` to all {n} at once | {figures['raw_ssh_true_s']:.2f} | |")
    print(f"| agent wheels built once on the operator (cached after) | {figures['wheels_build_s']:.2f} | |")
    print(f"| `node import`, fresh nodes | {figures['fresh_s']:.2f} | < 30 s for 20 |")
    print(f"| ... slowest node inside it | {figures['fresh_slowest_node_s']:.2f} | |")
    print(f"| `node import` again, nothing changed | {figures['noop_s']:.2f} | < 3 s for 20 |")
    print(f"| ... slowest node inside it | {figures['noop_slowest_node_s']:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
