"""Carrying a runtime image to a node that can neither pull nor build it.

`docker save` on an engine that has the image streams, chunk by chunk, into `docker load`
on the node, over the node's verified SSH session: no registry, no temporary file. Both
ends run the Docker SDK in the agent's own Python (a bootstrapped node always has it; the
docker CLI may be missing). Images are content-addressed, so the target's image ID is
checked first (equal: skipped) and again after loading.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..connectors.base import Connector
from ..errors import AgentError, NodeSetupFailed, NotFound
from .context import Context

MIB = 1 << 20
# Run with the engine side's Python: argv[1] is the image. Prints "ID SIZE", or "-" if absent.
ID_SCRIPT = """import sys, docker, docker.errors
try:
    info = docker.from_env(timeout=60).api.inspect_image(sys.argv[1])
except docker.errors.ImageNotFound:
    print("-")
else:
    print(info["Id"], info["Size"])
"""
SAVE_SCRIPT = """import sys, docker
out = sys.stdout.buffer
for chunk in docker.from_env(timeout=900).api.get_image(sys.argv[1], chunk_size=65536):
    out.write(chunk)
out.flush()
"""
LOAD_SCRIPT = """import sys, docker
source = iter(lambda: sys.stdin.buffer.read(65536), b"")
for msg in docker.from_env(timeout=900).api.load_image(source, quiet=True):
    if msg.get("error"):
        sys.exit("docker load: " + str(msg["error"]))
    print(str(msg.get("stream", "")).strip())
"""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Engine:
    """A Docker engine reached through a connector: a node's, or this machine's own."""

    label: str
    connector: Connector
    python: str


def engine_of(ctx: Context, node: dict[str, Any]) -> Engine:
    connector = ctx.connector(node)
    return Engine(node["name"], connector, connector.agent_python(node["agent_home"]))


def operator_engine() -> Engine:
    from ..connectors.local import LocalConnector

    return Engine("this machine", LocalConnector("this machine"), sys.executable)


def image_id(engine: Engine, image: str) -> tuple[str, int] | None:
    """(ID, size) of the image on that engine, None if it is absent or the engine is not reachable."""
    res = engine.connector.run((engine.python, "-c", ID_SCRIPT, image), timeout=120)
    words = res.stdout.split()
    if res.code != 0 or len(words) != 2:
        return None
    return words[0], int(words[1])


def carry(ctx: Context, image: str, node: dict[str, Any], sources: list[dict[str, Any]],
          why: str = "", progress: Progress | None = None) -> dict[str, Any]:
    """Put `image` on `node` from the first of `sources` (then this machine) that has it."""
    say = progress or (lambda _text: None)
    target = engine_of(ctx, node)
    candidates = [engine_of(ctx, s) for s in sources if s["name"] != node["name"]]
    if not any(s["kind"] == "local" for s in sources) and node["kind"] != "local":
        candidates.append(operator_engine())  # a local node's engine is this machine's: checked once
    for source in candidates:
        found = image_id(source, image)
        if found is not None:
            break
    else:
        raise NotFound(f"node {node['name']} cannot get {image}: {why or 'it cannot be pulled'}; and no engine "
                         "here has it to carry over",
                         "add the runtime on a node that can build it (faasctl node add local), then add it again")
    wanted, size = found
    have = image_id(target, image)
    if have is not None and have[0] == wanted:
        return {"how": "present"}
    say(f"carrying {image} ({size / MIB:.0f} MiB) from {source.label}")
    sent = [0]
    chunks = counted(source.connector.stream_out((source.python, "-c", SAVE_SCRIPT, image)), size, sent, say)
    res = target.connector.stream_in((target.python, "-c", LOAD_SCRIPT), chunks)
    if res.code != 0:
        lines = (res.stderr or res.stdout).strip().splitlines()
        raise AgentError(f"loading {image} on node {node['name']} failed: {lines[-1] if lines else res.code}",
                         "check the node's Docker engine and free disk space")
    have = image_id(target, image)
    if have is None or have[0] != wanted:
        raise NodeSetupFailed(f"node {node['name']} loaded {image} but its ID is {have[0] if have else 'missing'}, "
                           f"not {wanted}", "add the runtime again")
    return {"how": "carried", "from": source.label, "bytes": sent[0]}


def counted(chunks: Iterable[bytes], expected: int, sent: list[int], say: Progress) -> Iterator[bytes]:
    """Pass chunks through, counting bytes and reporting each tenth of the expected size."""
    shown = 0
    for chunk in chunks:
        sent[0] += len(chunk)
        tenth = min(9, sent[0] * 10 // max(expected, 1))
        if tenth > shown:
            shown = tenth
            say(f"  {tenth * 10}% ({sent[0] / MIB:.0f} of ~{expected / MIB:.0f} MiB)")
        yield chunk
