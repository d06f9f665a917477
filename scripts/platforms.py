"""Write pex "complete platform" files for the targets dist/faasctl covers.

pex's abbreviated platforms (`--platform manylinux_2_28_x86_64-cp-311-cp311`) cannot
evaluate markers such as `python_full_version`, which our dependencies use; a complete
platform carries the whole marker environment and the tag list, so one build machine
can resolve for every target. The tags come from `packaging.tags`, the same code pip
uses to decide what an interpreter accepts.

    python scripts/platforms.py OUT_DIR [linux|macos]...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from packaging import tags

LINUX_PYTHONS = ((3, 10), (3, 11), (3, 12), (3, 13))
LINUX_ARCHES = ("x86_64", "aarch64")
GLIBC_FLOOR = 17  # manylinux2014: what the operator file asks of a Linux laptop or server


def linux_platforms(arch: str, glibc_minor: int = 31) -> list[str]:
    """manylinux_2_31 down to 2_17 (and the legacy alias), then plain linux."""
    found = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, GLIBC_FLOOR - 1, -1)]
    return [*found, f"manylinux2014_{arch}", f"linux_{arch}"]


def macos_platforms() -> list[str]:
    """What an arm64 Mac on macOS 14 accepts: arm64 from 11.0, universal2 from 10.x (packaging's list)."""
    return list(tags.mac_platforms((14, 0), "arm64"))


def complete(py: tuple[int, int], system: str, machine: str, platforms: list[str]) -> dict[str, object]:
    interpreter = f"cp{py[0]}{py[1]}"
    tag_list = [*tags.cpython_tags(py, [interpreter, "abi3", "none"], platforms),
                *tags.compatible_tags(py, interpreter, platforms)]
    version = f"{py[0]}.{py[1]}"
    return {
        "marker_environment": {
            "implementation_name": "cpython", "implementation_version": f"{version}.0", "os_name": "posix",
            "platform_machine": machine, "platform_python_implementation": "CPython", "platform_release": "",
            "platform_system": system, "platform_version": "", "python_full_version": f"{version}.0",
            "python_version": version, "sys_platform": "linux" if system == "Linux" else "darwin",
        },
        "compatible_tags": [str(t) for t in tag_list],
    }


def main() -> None:
    out = Path(sys.argv[1])
    kinds = sys.argv[2:] or ["linux"]
    out.mkdir(parents=True, exist_ok=True)
    for py in LINUX_PYTHONS:
        if "linux" in kinds:
            for arch in LINUX_ARCHES:
                data = complete(py, "Linux", arch, linux_platforms(arch))
                (out / f"linux-{arch}-cp{py[0]}{py[1]}.json").write_text(json.dumps(data))
        if "macos" in kinds:
            data = complete(py, "Darwin", "arm64", macos_platforms())
            (out / f"macos-arm64-cp{py[0]}{py[1]}.json").write_text(json.dumps(data))


if __name__ == "__main__":
    main()
