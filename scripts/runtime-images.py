"""Build built-in runtime images ahead of time, tagged as `faasctl runtime add NAME` tags them.

scripts/setup.sh runs it for the runtimes the integration tests use besides Python (node:
about 80 s from the offline base, apt-get inside the build), so the tests find the image
present instead of building it inside a test. Idempotent: a tag that exists is left alone,
and the tag is the digest of the runtime's files, so an edited runtime gets a new image.
Usage: python scripts/runtime-images.py node [NAME...]
"""

from __future__ import annotations

import sys

from faasctl_agent import archive
from faasctl_agent.executor import Executor
from faasctl_agent.protocol import AgentFailure

from faasctl.core import runtime_builtin


def main(names: list[str]) -> int:
    engine = Executor("setup")
    for name in names:
        packed = archive.pack(archive.read_entries(runtime_builtin.packed(name)))  # as core/artifacts.py stores it
        spec = runtime_builtin.describe(name)
        tag = f"faasctl/rt-{name}:{archive.sha256(packed)[:12]}"
        if engine.image_id(tag):
            print(f"==> runtime image {tag} present")
            continue
        print(f"==> building runtime image {tag} (base {spec['base']}, else {spec['offline_base']})", flush=True)
        try:
            engine.build(packed, tag, spec["base"], spec["offline_base"])
        except AgentFailure as exc:
            print(f"building {tag} failed: {exc.message}\n{exc.hint}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
